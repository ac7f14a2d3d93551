// What every stage of one promotion shares: its state (what the `state` query and the reporters
// see), the rollback plan, the evidence the production gate re-checks, and, once the policy gate
// has passed, the settings and the error-rate monitor as required fields. A run that continued as
// new starts from what the previous run carried over (continuation.ts).
import * as wf from '@temporalio/workflow';
import type { PromotionSettings } from '../../policy/config/schema';
import { ErrorRateMonitor } from '../error-rate-monitor';
import {
  DEFAULT_SLOT_WORKFLOW_ID,
  REFUSALS_KEPT,
  type Change,
  type Interruption,
  type PromotionInput,
  type PromotionState,
  type Stage,
} from '../messages';
import { RollbackPlan } from './rollback-plan';
import { stageKey } from '../search-attributes';
import { promotionDetails } from '../ui-details';
import { reportActs, restoreActs } from './activity-options';
import { initialState } from './initial-state';

/** Thrown by a stage when the promotion is stopping: `state.interruption` says why. */
export class Interrupted extends Error {
  constructor() {
    super('promotion interrupted');
    this.name = 'Interrupted';
  }
}

/**
 * Thrown by a wait when a later merge of the service asked this promotion to restart with it
 * (state.restartRequest; restart.ts): not an ending, index.ts restarts from staging.
 */
export class Restart extends Error {
  constructor() {
    super('promotion restarting with a later merge');
    this.name = 'Restart';
  }
}

export interface Evidence {
  gateAllowed: boolean;
  /** The gate blocked on waivable findings only, and every one was waived (waiver-stage.ts). */
  gateWaived?: boolean;
  bakeMs: number;
  stagingReadyAt: number;
  bakeEndedAt: number;
  canaryClean: boolean;
}

export interface PromotionContext {
  readonly workflowId: string;
  readonly change: Change;
  readonly slotWorkflowId: string;
  /**
   * Promotions started on this code: every activity failure compensates, stops are checked before
   * every step, a failed restore ends rollback_failed. False only when replaying older histories.
   */
  readonly v2: boolean;
  /** Decisions are checked for a verifiable identity (false only when replaying older histories). */
  readonly signedDecisions: boolean;
  /**
   * Error-rate samples must carry counts: rate-only ones are refused (patch 'counts-only'). False
   * for promotions started before it, which keep accepting them until they end.
   */
  readonly countsOnly: boolean;
  /** Promotions started on this code continue as new at safe points; older ones replay as they ran. */
  readonly mayContinueAsNew: boolean;
  /** Events after which a run continues as new at its next safe point. */
  readonly historyLimit: number;
  /** 1 for the first run of the promotion, +1 for each continue-as-new. */
  readonly run: number;
  /** When the promotion's first run started (workflow ms). */
  readonly startedAt: number;
  /** Where a continued run picks up: the stage that was waiting, and until when (workflow ms). */
  resume?: { stage: Stage; until: number };
  readonly state: PromotionState;
  readonly rollback: RollbackPlan;
  readonly evidence: Evidence;
  /** Reports scheduled so far: each settles when its activity has ended (never rejects). */
  readonly reports: Promise<unknown>[];
  /** `grants` counts grant signals heard, so a confirmation answers for the grants it saw. */
  readonly slot: { requested: boolean; granted: boolean; grants: number };
  /** Signatures already used by an accepted decision: a replayed one is refused, in every run. */
  readonly usedSignatures: Set<string>;
  settings?: PromotionSettings;
  monitor?: ErrorRateMonitor;
  /** The policy configures a metrics source: one watch activity per window polls it. */
  metricsWatch: boolean;
  interrupt(i: Interruption): void;
  /** Records a refused message where `state` and the Web UI show it; the oldest go past REFUSALS_KEPT. */
  refuse(r: Omit<PromotionState['refusals'][number], 'at'>): void;
  setStage(stage: Stage): void;
  report(): void;
  /** Every report asked for so far has been scheduled and has ended. */
  reportsSettled(): Promise<void>;
  /** The end of the wait to resume when this run continued as new in `stage` (once), else undefined. */
  resumedAt(stage: Stage): number | undefined;
}

/** The context once the policy gate has allowed the change. */
export type GatedContext = PromotionContext & { settings: PromotionSettings; monitor: ErrorRateMonitor };

export const iso = (ms: number) => new Date(ms).toISOString();

const REPORTED_REFUSALS = 10;

/** Default events per run: well under the server's 51,200, and its own suggestion (4 Ki events) usually comes first. */
export const HISTORY_LIMIT = 5_000;

export function createContext(
  input: PromotionInput,
  flags: { v2: boolean; signedDecisions: boolean; countsOnly: boolean; mayContinueAsNew: boolean },
): PromotionContext {
  const { workflowId } = wf.workflowInfo();
  const carried = input.continued;
  const state: PromotionState = carried?.state ?? initialState(workflowId, input.change, iso(Date.now()));
  const settings = carried ? state.settings : undefined;
  // An activity scheduled by an Update handler, between the update's acceptance and its completion,
  // made the SDK fail replay ("Update machine does not handle this event: ActivityTaskScheduled").
  // Reports are queued and scheduled by the workflow's own coroutine once the handlers have run.
  const queueReports = wf.patched('reports-outside-handlers');
  const queued: PromotionState[] = [];
  const schedule = (snapshot: PromotionState) =>
    ctx.reports.push(
      reportActs.reportStage
        .executeWithOptions({ summary: `report stage ${snapshot.stage}` }, [snapshot])
        .catch((err) => {
          wf.log.warn('stage report failed', { stage: snapshot.stage, error: String(err) });
        }),
    );
  if (queueReports) {
    // Not cancellable: a cancelled workflow still reports its rollback and its end (finish waits
    // for the queue), and a cancelled wait here would have left the queue undrained for ever.
    void wf.CancellationScope.nonCancellable(async () => {
      for (;;) {
        await wf.condition(() => queued.length > 0);
        for (const snapshot of queued.splice(0)) schedule(snapshot);
      }
    });
  }
  const ctx: PromotionContext = {
    workflowId,
    change: input.change,
    slotWorkflowId: input.slotWorkflowId ?? DEFAULT_SLOT_WORKFLOW_ID,
    ...flags,
    historyLimit: input.historyLimit ?? HISTORY_LIMIT,
    run: (carried?.run ?? 0) + 1,
    startedAt: carried?.startedAt ?? wf.workflowInfo().runStartTime.getTime(),
    ...(carried ? { resume: { stage: state.stage, until: carried.until } } : {}),
    state,
    rollback: new RollbackPlan(
      (r) =>
        restoreActs(
          ctx.v2 ? (ctx.settings?.rollback.maxRetryMinutes ?? 30) : undefined,
        ).restoreEnvironment.executeWithOptions({ summary: `rollback: restore ${r.environment}` }, [r.snapshot]),
      carried?.rollback,
    ),
    evidence: carried?.evidence ?? {
      gateAllowed: false,
      bakeMs: 0,
      stagingReadyAt: 0,
      bakeEndedAt: 0,
      canaryClean: false,
    },
    reports: [],
    slot: { grants: 0, ...(carried?.slot ?? { requested: false, granted: false }) },
    usedSignatures: new Set(carried?.usedSignatures),
    ...(settings ? { settings } : {}),
    ...(carried?.monitor && settings
      ? { monitor: new ErrorRateMonitor(settings.rollback, carried.monitor.judgeFromFirstReadiness, carried.monitor) }
      : {}),
    metricsWatch: carried?.metricsWatch ?? false,
    interrupt(i) {
      state.interruption ??= i;
    },
    refuse(r) {
      state.refusals.push({ at: iso(Date.now()), ...r });
      if (state.refusals.length > REFUSALS_KEPT) {
        state.refusals.shift();
        state.refusalsDropped = (state.refusalsDropped ?? 0) + 1;
      }
    },
    setStage(stage) {
      state.stage = stage;
      wf.upsertSearchAttributes([{ key: stageKey, value: stage }]);
      ctx.report();
    },
    report() {
      // Reports are best effort and never delay a gate or a rollback.
      // Reporters get the newest refusals only: every report is a copy of the state in history.
      const refusals = state.refusals.slice(-REPORTED_REFUSALS);
      const dropped = (state.refusalsDropped ?? 0) + state.refusals.length - refusals.length;
      // The monitor's summary as it is now (state.errorRate is only its value before the gate).
      const snapshot = {
        ...state,
        ...(ctx.monitor ? { errorRate: { ...ctx.monitor.summary } } : {}),
        refusals,
        ...(dropped ? { refusalsDropped: dropped } : {}),
        now: iso(Date.now()),
      };
      wf.setCurrentDetails(promotionDetails(snapshot, Date.now()));
      if (queueReports) queued.push(snapshot);
      else schedule(snapshot);
    },
    async reportsSettled() {
      await wf.condition(() => queued.length === 0);
      await Promise.all(ctx.reports);
    },
    resumedAt(stage) {
      const r = ctx.resume;
      if (r?.stage !== stage) return undefined;
      ctx.resume = undefined;
      return r.until;
    },
  };
  return ctx;
}
