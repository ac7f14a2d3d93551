// The promotion: one merged change of one service, from policy gate to production or back.
// Deterministic: time, timers and I/O come from the SDK and from activities.
import * as wf from '@temporalio/workflow';
import type { z } from 'zod';
import type { Activities } from '../activities';
import type { PromotionSettings } from '../policy/config/schema';
import { checkDecisionIdentity, type Attribution, type SignedRequest } from '../approvals/verify-decision';
import { authorizeHuman, type HumanAction } from './approval-authorization';
import { FailureType } from '../common/failure-types';
import { formatDuration, HOUR_MS, MINUTE_MS } from '../common/durations';
import { formatMinutes } from '../common/format';
import { promotionDetails } from './ui-details';
import { ErrorRateMonitor } from './error-rate-monitor';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  DEFAULT_SLOT_WORKFLOW_ID,
  errorRateSignal,
  queuePositionSignal,
  rejectSignal,
  rejectUpdate,
  slotGrantedSignal,
  stateQuery,
  type Approval,
  type ApprovalRequest,
  type Environment,
  type Interruption,
  type Outcome,
  type PromotionInput,
  type PromotionResult,
  type PromotionState,
  type Stage,
} from './messages';
import {
  abortRequestSchema,
  approvalRequestSchema,
  describeIssue,
  errorRateSampleSchema,
  rejectRequestSchema,
} from './payload-schemas';
import { RollbackPlan } from './rollback-plan';
import { outcomeKey, stageKey } from './search-attributes';

// Deploys wait for rollouts; a few retries cover a flaky API, not a broken manifest.
// The heartbeat timeout notices a worker that died mid-rollout in seconds, not the 20-minute start-to-close (test/faults).
const deployActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});
// Restores must finish: retried until they succeed or fail for a reason retrying cannot fix.
const restoreActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const controlActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
const reportActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

const OUTCOME_OF: Record<Interruption['kind'], Outcome> = {
  breach: 'rolled_back',
  silence: 'rolled_back',
  rejected: 'rejected',
  aborted: 'aborted',
  approval_timeout: 'timed_out',
  deploy_failed: 'failed',
  invariant_violated: 'failed',
};

export async function promotion(input: PromotionInput): Promise<PromotionResult> {
  const { workflowId } = wf.workflowInfo();
  const { change } = input;
  const slotWorkflowId = input.slotWorkflowId ?? DEFAULT_SLOT_WORKFLOW_ID;
  const iso = (ms: number) => new Date(ms).toISOString();

  const state: PromotionState = {
    workflowId,
    change,
    stage: 'policy_gate',
    now: iso(Date.now()),
    shortBake: false,
    findings: [],
    approvals: [],
    refusals: [],
    errorRate: { samples: 0, inconclusive: 0, stale: 0 },
    deployed: [],
  };
  let settings: PromotionSettings | undefined;
  // Decisions are checked for a verifiable identity from this version on (docs/approvals.md).
  const signedDecisions = wf.patched('signed-decisions');
  let monitor: ErrorRateMonitor | undefined;
  let metricsWatch = false;
  let slotRequested = false;
  let slotGranted = false;
  const reports: Promise<unknown>[] = [];
  const rollback = new RollbackPlan();
  // Evidence for the production gate, checked again right before the rollout.
  const evidence = { gateAllowed: false, bakeMs: 0, stagingReadyAt: 0, bakeEndedAt: 0, canaryClean: false };

  const interrupt = (i: Interruption) => {
    state.interruption ??= i;
  };

  function setStage(stage: Stage): void {
    state.stage = stage;
    wf.upsertSearchAttributes([{ key: stageKey, value: stage }]);
    report();
  }

  function report(): void {
    // Reports are best effort and never delay a gate or a rollback.
    const snapshot = { ...state, now: iso(Date.now()) };
    wf.setCurrentDetails(promotionDetails(snapshot, Date.now()));
    reports.push(
      reportActs.reportStage.executeWithOptions({ summary: `report stage ${state.stage}` }, [snapshot]).catch((err) => {
        wf.log.warn('stage report failed', { stage: snapshot.stage, error: String(err) });
      }),
    );
  }

  // ---- Messages -------------------------------------------------------------------------------
  function whyNotAwaitingApproval(): string {
    const now = Date.now();
    switch (state.stage) {
      case 'baking':
        return `not awaiting approval: stage is baking; bake ends in ${formatDuration(Date.parse(state.bakeEndsAt!) - now)} (${state.bakeEndsAt})`;
      case 'canary':
        return `not awaiting approval: stage is canary; canary watch ends in ${formatDuration(Date.parse(state.canaryWatchEndsAt!) - now)}`;
      case 'queued':
        return `not awaiting approval: stage is queued${state.queuePosition ? ` at position ${state.queuePosition}` : ''} for the blast-radius slot; the 24 h bake has not started`;
      case 'ended':
        return `not awaiting approval: promotion ended ${state.outcome}`;
      default:
        return `not awaiting approval: stage is ${state.stage}; approval is asked after the bake and the canary watch`;
    }
  }

  function authorize(action: HumanAction, who: string): string {
    if (!settings) throw new Error(`${action}: the policy gate is still running; try again in a few seconds`);
    const auth = authorizeHuman({ workflowId, change, settings, now: Date.now() }, action, who);
    if (!auth.ok) throw new Error(auth.reason);
    return auth.approver;
  }

  // Identity refusals (forged, replayed, unsigned, stale signature) are recorded in state.refusals,
  // so an update carrying one passes its validator and is refused by its handler, in history.
  class IdentityRefused extends Error {}
  const usedSignatures = new Set<string>();

  function checkIdentity(action: HumanAction, req: SignedRequest): Attribution {
    if (!signedDecisions) return 'unsigned'; // histories from before signed decisions replay as they ran
    const r = checkDecisionIdentity(req, { workflowId, action, settings: settings!, now: Date.now(), usedSignatures });
    if (!r.ok) throw new IdentityRefused(r.reason);
    return r.attribution;
  }

  function validateApproval(raw: ApprovalRequest) {
    const parsed = approvalRequestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`approve: ${describeIssue(parsed.error)}`);
    if (state.stage !== 'awaiting_approval') throw new Error(whyNotAwaitingApproval());
    const req = parsed.data;
    const approver = authorize('approve', req.approver);
    const attribution = checkIdentity('approve', { ...req, approver, text: req.comment });
    if (state.approvals.some((a) => a.approver === approver)) {
      throw new Error(
        `approve: "${approver}" has already approved; the next approval must come from a different person`,
      );
    }
    return { approver, attribution, req };
  }

  function recordApproval(raw: ApprovalRequest, via: string) {
    const { approver, attribution, req } = validateApproval(raw);
    if (req.signature) usedSignatures.add(req.signature.value);
    const approval: Approval = {
      approver,
      at: iso(Date.now()),
      via: req.via ?? via,
      ...(req.comment ? { comment: req.comment } : {}),
      attribution,
    };
    state.approvals.push(approval);
    const required = settings!.approvers.required;
    report();
    return { approvals: [...state.approvals], required, complete: state.approvals.length >= required };
  }

  function validateStop(action: 'reject' | 'abort', req: SignedRequest & { reason: string }): string {
    if (state.stage === 'ended' || state.stage === 'rolling_back') {
      throw new Error(
        `${action}: promotion is ${state.stage === 'ended' ? `ended (${state.outcome})` : 'already rolling back'}`,
      );
    }
    if (state.interruption) throw new Error(`${action}: promotion is already stopping (${state.interruption.kind})`);
    const who = authorize(action, req.approver);
    checkIdentity(action, { ...req, approver: who, text: req.reason });
    return who;
  }

  function parseOrThrow<S extends z.ZodType>(schema: S, action: string, raw: unknown): z.infer<S> {
    const r = schema.safeParse(raw);
    if (!r.success) throw new Error(`${action}: ${describeIssue(r.error)}`);
    return r.data;
  }

  const parseReject = (raw: unknown) => parseOrThrow(rejectRequestSchema, 'reject', raw);
  const parseAbort = (raw: unknown) => {
    const { by, ...rest } = parseOrThrow(abortRequestSchema, 'abort', raw);
    return { ...rest, approver: by };
  };
  const reject = (raw: unknown) => {
    const req = parseReject(raw);
    const by = validateStop('reject', req);
    if (req.signature) usedSignatures.add(req.signature.value);
    interrupt({ kind: 'rejected', by, reason: req.reason });
  };
  const abort = (raw: unknown) => {
    const req = parseAbort(raw);
    const by = validateStop('abort', req);
    if (req.signature) usedSignatures.add(req.signature.value);
    interrupt({ kind: 'aborted', by, reason: req.reason });
  };
  const refuseRecorded = (action: string, who: unknown, err: Error) =>
    state.refusals.push({ at: iso(Date.now()), who: String(who ?? '(unknown)'), action, reason: err.message });
  /** Update validator: identity refusals pass, so the handler can record them in history. */
  const validating = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof IdentityRefused)) throw err;
    }
  };
  /** Update handler: a refusal fails the update with a typed failure; identity refusals are recorded. */
  function handling<T>(action: string, who: unknown, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof IdentityRefused) refuseRecorded(action, who, err);
      throw wf.ApplicationFailure.create({
        type: FailureType.DecisionRefused,
        message: (err as Error).message,
        nonRetryable: true,
      });
    }
  }
  // Signals cannot answer: a refused signal is recorded where `state` and the UI show it.
  const refusing = (action: string, who: unknown, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      refuseRecorded(action, who, err as Error);
    }
  };

  wf.setHandler(approveUpdate, (req) => handling('approve', req?.approver, () => recordApproval(req, 'update')), {
    validator: (req) => validating(() => validateApproval(req)),
  });
  wf.setHandler(approveSignal, (req) => refusing('approve', req?.approver, () => recordApproval(req, 'signal')));
  wf.setHandler(
    rejectUpdate,
    (req) => handling('reject', req?.approver, () => (reject(req), { accepted: true as const })),
    {
      validator: (req) => validating(() => validateStop('reject', parseReject(req))),
    },
  );
  wf.setHandler(rejectSignal, (req) => refusing('reject', req?.approver, () => reject(req)));
  wf.setHandler(abortUpdate, (req) => handling('abort', req?.by, () => (abort(req), { accepted: true as const })), {
    validator: (req) => validating(() => validateStop('abort', parseAbort(req))),
  });
  wf.setHandler(abortSignal, (req) => refusing('abort', req?.by, () => abort(req)));
  wf.setHandler(errorRateSignal, (raw) => {
    const parsed = errorRateSampleSchema.safeParse(raw);
    if (!parsed.success) {
      state.refusals.push({
        at: iso(Date.now()),
        who: 'errorRate',
        action: 'errorRate',
        reason: describeIssue(parsed.error),
      });
      return;
    }
    if (!monitor || state.stage === 'ended' || state.stage === 'rolling_back') return;
    const breach = monitor.observe(parsed.data, Date.now());
    if (breach) interrupt(breach);
  });
  wf.setHandler(slotGrantedSignal, () => {
    slotGranted = true;
    state.queuePosition = undefined;
  });
  wf.setHandler(queuePositionSignal, ({ position }) => {
    if (!slotGranted) state.queuePosition = position;
  });
  wf.setHandler(stateQuery, () => {
    const now = Date.now();
    const bakeRemainingMs = state.bakeEndsAt ? Math.max(0, Date.parse(state.bakeEndsAt) - now) : undefined;
    return {
      ...state,
      now: iso(now),
      errorRate: monitor?.summary ?? state.errorRate,
      ...(bakeRemainingMs !== undefined ? { bakeRemainingMs } : {}),
    };
  });

  // ---- Watches --------------------------------------------------------------------------------
  /**
   * When the policy configures a metrics source, one watch activity per window polls it and judges
   * breach and silence itself; it sends nothing between polls, so a window costs the history a
   * handful of events (docs/monitoring.md). Cancelled when the window ends for another reason.
   */
  function startSourceWatch(environment: Environment, until: number, label: string) {
    if (!metricsWatch) return undefined;
    const s = settings!;
    const intervalMs = s.monitoring.intervalSeconds * 1000;
    const watching = { running: true, graceMs: intervalMs + 2 * MINUTE_MS, stop: async () => {} };
    const acts = wf.proxyActivities<Activities>({
      startToCloseTimeout: Math.max(until - Date.now(), 0) + watching.graceMs + 5 * MINUTE_MS,
      // Heartbeats come once per poll; a dead worker is noticed within a few intervals and the
      // retry resumes the silence clock from the last heartbeat.
      heartbeatTimeout: 2 * intervalMs + MINUTE_MS,
      retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
    });
    const input = {
      service: change.service,
      environment,
      target:
        environment === 'staging'
          ? ('staging' as const)
          : state.stage === 'production'
            ? ('production' as const)
            : ('canary' as const),
      version: change.version,
      readyAt: monitor!.readyAtOf(environment) ?? Date.now(),
      until,
      lastEvidenceAt: monitor!.lastEvidence(environment) ?? Date.now(),
      label,
      monitoring: s.monitoring,
      rollback: s.rollback,
    };
    const scope = new wf.CancellationScope();
    const done = scope
      .run(() =>
        acts.watchErrorRate.executeWithOptions({ summary: `watch ${environment} error rate: ${label}` }, [input]),
      )
      .then(
        (r) => {
          watching.running = false;
          monitor!.recordWatch(environment, r.evidence);
          if (r.outcome === 'breach') {
            const { sample, thresholdPercent, baselineUsed, risePercent, evidence } = r;
            interrupt({ kind: 'breach', sample, thresholdPercent, baselineUsed, risePercent, evidence });
          } else if (r.outcome === 'silence') {
            interrupt({
              kind: 'silence',
              environment,
              silentMinutes: r.silentMinutes,
              silentSince: iso(r.silentSince),
              evidence: r.evidence,
            });
          }
        },
        (err) => {
          watching.running = false;
          // A watch that failed for good hands silence back to the workflow's own clock: fail closed.
          if (!wf.isCancellation(err))
            wf.log.warn('error-rate watch failed; silence is judged by the workflow', {
              environment,
              error: String(err),
            });
        },
      );
    watching.stop = async () => {
      scope.cancel();
      await done;
    };
    return watching;
  }

  /** Waits until `until` (or `done()`), rolling back on breach, silence or a human's stop. */
  async function watch(environment: Environment, until: number, label: string, done: () => boolean = () => false) {
    const maxSilenceMs = settings!.monitoring.maxSilenceMinutes * MINUTE_MS;
    const source = startSourceWatch(environment, until, label);
    try {
      for (;;) {
        if (state.interruption) return 'interrupted' as const;
        if (done()) return 'done' as const;
        const now = Date.now();
        if (source?.running) {
          // The source watch judges silence and ends itself at `until`; the workflow waits for its
          // verdict (so its last evidence carries into the next window), at most a grace period.
          if (now >= until + source.graceMs) return 'elapsed' as const;
          const wakeAt = now < until ? until : until + source.graceMs;
          await wf.condition(() => !!state.interruption || done() || !source.running, wakeAt - now, { summary: label });
          continue;
        }
        const silenceAt = monitor!.silenceDeadline(environment, maxSilenceMs);
        if (now >= silenceAt) {
          const last = monitor!.lastEvidence(environment);
          interrupt({
            kind: 'silence',
            environment,
            silentMinutes: (now - last!) / MINUTE_MS,
            silentSince: iso(last!),
          });
          return 'interrupted' as const;
        }
        if (now >= until) return 'elapsed' as const;
        const wakeAt = Math.min(until, silenceAt);
        const summary = wakeAt === until ? label : `${label}: next conclusive ${environment} error-rate sample due`;
        await wf.condition(() => !!state.interruption || done(), wakeAt - now, { summary });
      }
    } finally {
      await source?.stop();
    }
  }

  async function deployStep(environment: Environment, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      const cause = (err as { cause?: Error }).cause;
      interrupt({ kind: 'deploy_failed', environment, message: cause?.message ?? (err as Error).message });
      return false;
    }
  }

  async function unwind(): Promise<Outcome> {
    const outcome = OUTCOME_OF[state.interruption!.kind];
    if (rollback.isEmpty) return outcome;
    setStage('rolling_back');
    const rb = (state.rollback = { startedAt: iso(Date.now()), steps: [] as string[] } as NonNullable<
      PromotionState['rollback']
    >);
    const error = await rollback.run((label) => rb.steps.push(label));
    rb.finishedAt = iso(Date.now());
    state.deployed = [];
    if (error) {
      rb.error = error;
      return 'failed';
    }
    return outcome;
  }

  // ---- The stage machine ----------------------------------------------------------------------
  async function run(): Promise<Outcome> {
    report();
    const gate = await controlActs.evaluatePolicyGate.executeWithOptions(
      { summary: 'policy gate on the change content' },
      [change],
    );
    settings = gate.settings;
    monitor = new ErrorRateMonitor(settings.rollback, wf.patched('late-canary-evidence'));
    // Only policies with a metrics source schedule the watch activity; older histories never had one.
    metricsWatch = !!(settings.monitoring.prometheus || settings.monitoring.datadog) && wf.patched('metrics-watch');
    state.settings = settings;
    state.policyHash = gate.policyHash;
    state.findings = gate.findings;
    state.shortBake = gate.shortBake;
    if (gate.decision === 'block') return 'blocked';
    evidence.gateAllowed = true;

    setStage('queued');
    slotRequested = true;
    const { maxServicesInFlight, maxStartsPerHour } = settings.blastRadius;
    await controlActs.requestSlot.executeWithOptions({ summary: 'queue for the blast-radius slot' }, [
      slotWorkflowId,
      { workflowId, service: change.service, maxServicesInFlight, maxStartsPerHour },
    ]);
    await wf.condition(() => slotGranted || !!state.interruption);
    if (state.interruption) return unwind();

    setStage('staging');
    const stagingBefore = await deployActs.snapshotEnvironment.executeWithOptions(
      { summary: 'record staging before the change' },
      [change.service, 'staging'],
    );
    rollback.push('restore staging', () =>
      restoreActs.restoreEnvironment
        .executeWithOptions({ summary: 'rollback: restore staging' }, [stagingBefore])
        .then(() => undefined),
    );
    const staged = await deployStep('staging', () =>
      deployActs.deployToEnvironment.executeWithOptions({ summary: `deploy ${change.version} to staging` }, [
        { service: change.service, environment: 'staging', version: change.version },
      ]),
    );
    if (!staged || state.interruption) return unwind();
    state.deployed.push('staging');
    evidence.stagingReadyAt = Date.now();
    monitor.deployed('staging', evidence.stagingReadyAt);

    // The bake is measured from readiness in staging, by a server-side timer: nothing shortens it.
    evidence.bakeMs = settings.bake.minHours * HOUR_MS;
    const bakeEndsAt = evidence.stagingReadyAt + evidence.bakeMs;
    state.stagingReadyAt = iso(evidence.stagingReadyAt);
    state.bakeEndsAt = iso(bakeEndsAt);
    setStage('baking');
    if (
      (await watch('staging', bakeEndsAt, `bake ${formatMinutes(settings.bake.minHours * 60)} in staging`)) !==
      'elapsed'
    )
      return unwind();
    evidence.bakeEndedAt = Date.now();

    const freeze = await controlActs.deployWaitMs.executeWithOptions({ summary: 'check planned-operation windows' }, [
      change.service,
      'production',
    ]);
    if (freeze.waitMs > 0) {
      setStage('frozen');
      const label = `frozen: ${freeze.reason ?? 'planned operation'}`;
      if ((await watch('staging', Date.now() + freeze.waitMs, label)) !== 'elapsed') return unwind();
    }

    setStage('canary');
    const productionBefore = await deployActs.snapshotEnvironment.executeWithOptions(
      { summary: 'record production before the change' },
      [change.service, 'production'],
    );
    rollback.push('restore production', () =>
      restoreActs.restoreEnvironment
        .executeWithOptions({ summary: 'rollback: restore production' }, [productionBefore])
        .then(() => undefined),
    );
    const canaried = await deployStep('production', () =>
      deployActs.deployCanary.executeWithOptions(
        { summary: `canary ${change.version} on ${settings!.canary.percent}% of production` },
        [{ service: change.service, version: change.version, percent: settings!.canary.percent }],
      ),
    );
    if (!canaried || state.interruption) return unwind();
    state.deployed.push('production');
    const canaryAt = Date.now();
    monitor.deployed('production', canaryAt);
    const canaryEndsAt = canaryAt + settings.canary.minMinutes * MINUTE_MS;
    state.canaryStartedAt = iso(canaryAt);
    state.canaryWatchEndsAt = iso(canaryEndsAt);
    if (
      (await watch('production', canaryEndsAt, `canary watch ${formatMinutes(settings.canary.minMinutes)}`)) !==
      'elapsed'
    )
      return unwind();
    evidence.canaryClean = true;

    const requestedAt = Date.now();
    const deadline = requestedAt + settings.approval.timeoutHours * HOUR_MS;
    state.approvalRequestedAt = iso(requestedAt);
    state.approvalDeadline = iso(deadline);
    setStage('awaiting_approval');
    const required = settings.approvers.required;
    const approval = await watch(
      'production',
      deadline,
      `awaiting ${required} approvals (canary still watched)`,
      () => state.approvals.length >= required,
    );
    if (approval === 'elapsed') interrupt({ kind: 'approval_timeout', hours: settings.approval.timeoutHours });
    if (approval !== 'done') return unwind();

    const violation = productionGateViolation();
    if (violation) {
      interrupt({ kind: 'invariant_violated', message: violation });
      return unwind();
    }
    setStage('production');
    const promoted = await deployStep('production', () =>
      deployActs.promoteCanary.executeWithOptions({ summary: `roll out ${change.version} to all of production` }, [
        { service: change.service, version: change.version },
      ]),
    );
    if (!promoted || state.interruption) return unwind();
    const rolledOutAt = Date.now();
    monitor.deployed('production', rolledOutAt);
    const watchEndsAt = rolledOutAt + settings.production.watchMinutes * MINUTE_MS;
    if (
      (await watch(
        'production',
        watchEndsAt,
        `production watch ${formatMinutes(settings.production.watchMinutes)}`,
      )) !== 'elapsed'
    )
      return unwind();
    return 'promoted';
  }

  /** Re-checks every invariant of DESIGN.md from recorded evidence; a violation is a bug, never a gate. */
  function productionGateViolation(): string | undefined {
    const s = settings!;
    const approvers = new Set(state.approvals.map((a) => a.approver));
    if (!evidence.gateAllowed) return 'policy gate did not allow the change';
    if (!evidence.stagingReadyAt || evidence.bakeEndedAt - evidence.stagingReadyAt < evidence.bakeMs)
      return 'bake incomplete';
    if (!evidence.canaryClean) return 'canary watch incomplete';
    if (approvers.size < s.approvers.required) return `only ${approvers.size} distinct approvers`;
    for (const a of approvers) {
      if (a === change.author || s.authors.agents.includes(a) || !s.approvers.allowed.some((x) => x.id === a))
        return `approver ${a} not allowed`;
    }
    return undefined;
  }

  let outcome: Outcome;
  try {
    outcome = await run();
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    // Cancelled from outside (UI, CLI): an abort; rollback and release must still happen.
    interrupt({ kind: 'aborted', by: 'temporal', reason: 'workflow cancellation requested' });
    outcome = await wf.CancellationScope.nonCancellable(unwind);
  }

  await wf.CancellationScope.nonCancellable(async () => {
    if (slotRequested) {
      await controlActs.releaseSlot.executeWithOptions({ summary: 'release the blast-radius slot' }, [
        slotWorkflowId,
        workflowId,
      ]);
    }
    state.outcome = outcome;
    state.endedAt = iso(Date.now());
    wf.upsertSearchAttributes([{ key: outcomeKey, value: outcome }]);
    setStage('ended');
    await Promise.all(reports);
    await wf.condition(wf.allHandlersFinished);
  });
  return {
    workflowId,
    outcome,
    ...(state.interruption ? { interruption: state.interruption } : {}),
    findings: state.findings,
    approvals: state.approvals,
    ...(state.policyHash ? { policyHash: state.policyHash } : {}),
  };
}
