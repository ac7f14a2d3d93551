// Bounded history: a promotion that waits for days (the bake, the canary, the approval wait, a
// failed rollback) while signals and refused decisions pile up continues as new before the server
// would terminate it (51,200 events), and the next run resumes in the same wait. Only at safe
// points: a wait with no deploy, snapshot or restore running, all handlers finished.
import * as wf from '@temporalio/workflow';
import type { ErrorRateMonitorState } from '../error-rate-monitor';
import { PROMOTION_STARTED_MEMO, type PromotionInput, type PromotionResult, type PromotionState } from '../messages';
import { HISTORY_LIMIT, iso, type Evidence, type PromotionContext } from './context';
import type { RecordedRestore } from './rollback-plan';

/** Everything the rest of a promotion depends on, carried from one run to the next. */
export interface PromotionContinuation {
  /** How many runs came before the one this starts. */
  run: number;
  /** When the promotion's first run started (workflow ms). */
  startedAt: number;
  /** The whole state; `state.stage` is the wait the next run resumes in. */
  state: PromotionState;
  /** When that wait ends (workflow ms, absolute): a bake resumes with exactly what was left of it. */
  until: number;
  /** What the production gate re-checks. */
  evidence: Evidence;
  /** The rollback plan: the snapshot recorded before each environment was touched, oldest first. */
  rollback: RecordedRestore[];
  /** The slot was requested (and granted): the next run never requests it again, and releases it. */
  slot: { requested: boolean; granted: boolean };
  /** The error-rate monitor (absent only before the policy gate has run). */
  monitor?: ErrorRateMonitorState;
  metricsWatch: boolean;
  /** Signatures of accepted decisions: one used before the continue-as-new is refused after it. */
  usedSignatures: string[];
  /**
   * How the promotion started (its patched() flags). A continued run is new code, so patched()
   * would say true; the promotion keeps the behaviour it started with instead.
   */
  flags: { v2: boolean; signedDecisions: boolean; countsOnly?: boolean };
}

/** The history is long enough to continue as new (this promotion may: it started on this code). */
export function continueAsNewDue(ctx: PromotionContext): boolean {
  if (!ctx.mayContinueAsNew) return false;
  const info = wf.workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > ctx.historyLimit;
}

/**
 * Continues as new, resuming in the current stage's wait until `until`, once every handler and
 * report has finished. Returns (without continuing) when the wait is over meanwhile: `waiting()` is
 * false, e.g. a stop or the last approval arrived while the reports finished.
 */
export async function continueAsNewAt(ctx: PromotionContext, until: number, waiting: () => boolean): Promise<void> {
  await wf.condition(wf.allHandlersFinished);
  await ctx.reportsSettled();
  if (!waiting()) return;
  const continued: PromotionContinuation = {
    run: ctx.run,
    startedAt: ctx.startedAt,
    state: ctx.state,
    until,
    evidence: ctx.evidence,
    rollback: ctx.rollback.recorded,
    slot: ctx.slot,
    ...(ctx.monitor ? { monitor: ctx.monitor.state } : {}),
    metricsWatch: ctx.metricsWatch,
    usedSignatures: [...ctx.usedSignatures],
    flags: { v2: ctx.v2, signedDecisions: ctx.signedDecisions, ...(ctx.countsOnly ? { countsOnly: true } : {}) },
  };
  const next: PromotionInput = {
    v: 1,
    change: ctx.change,
    slotWorkflowId: ctx.slotWorkflowId,
    ...(ctx.historyLimit !== HISTORY_LIMIT ? { historyLimit: ctx.historyLimit } : {}),
    continued,
  };
  // Search attributes explicitly: the next run is found by the same AirlockService / AirlockStage.
  // The memo tells whoever lists it (the alert route) when the promotion, not this run, started.
  await wf.makeContinueAsNewFunc<(input: PromotionInput) => Promise<PromotionResult>>({
    typedSearchAttributes: wf.workflowInfo().typedSearchAttributes,
    memo: { [PROMOTION_STARTED_MEMO]: iso(ctx.startedAt) },
  })(next);
}
