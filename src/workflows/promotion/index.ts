// The promotion: one merged change of one service, from policy gate to production or back.
// Deterministic: time, timers and I/O come from the SDK and from activities. `run` is the README's
// diagram; every way out of it (a stop, a failed activity, a cancel) goes through one unwind and
// one release of the slot. A long wait may continue as new (continuation.ts): the next run resumes
// in that stage, and only the run that ends releases the slot.
import * as wf from '@temporalio/workflow';
import type { Interruption, Outcome, PromotionInput, PromotionResult } from '../messages';
import { outcomeKey } from '../search-attributes';
import { controlActs } from './activity-options';
import { createContext, Interrupted, iso, Restart, type GatedContext, type PromotionContext } from './context';
import { continueAsNewAt, continueAsNewDue } from './continuation';
import { registerHandlers } from './handlers';
import { awaitWaivers } from './waiver-stage';
import { joinTrain, registerSupersedeHandler, trainCommit } from './train';
import { exposure } from './exposure';
import { registerRestartHandler, restartWithTrain } from './restart';
import { awaitApproval, bake, canary, freeze, policyGate, production, queue, staging, type GatedStage } from './stages';

const OUTCOME_OF: Record<Interruption['kind'], Outcome> = {
  breach: 'rolled_back',
  alert: 'rolled_back',
  insufficient_evidence: 'rolled_back',
  silence: 'rolled_back',
  rejected: 'rejected',
  aborted: 'aborted',
  approval_timeout: 'timed_out',
  waiver_timeout: 'blocked',
  deploy_failed: 'failed',
  activity_failed: 'failed',
  invariant_violated: 'failed',
  // Never raised by the promotion itself: its compensation workflow reports it (src/workflows/compensation.ts).
  workflow_ended: 'failed',
  superseded: 'superseded',
  train_blocked: 'blocked',
};

export async function promotion(input: PromotionInput): Promise<PromotionResult> {
  // A continued run is new code (patched() would say true): it keeps the behaviour the promotion
  // started with, carried over. Decisions are checked for a verifiable identity from
  // 'signed-decisions' on (docs/approvals.md).
  const carried = input.continued?.flags;
  const signedDecisions = carried ? carried.signedDecisions : wf.patched('signed-decisions');
  const v2 = carried ? carried.v2 : wf.patched('promotion-v2');
  // From 'counts-only' on, rate-only error-rate samples are refused (issue 14); a promotion started
  // before it accepts them until it ends, also in the runs it continues as.
  const countsOnly = carried ? carried.countsOnly === true : wf.patched('counts-only');
  const ctx = createContext(input, {
    v2,
    signedDecisions,
    countsOnly,
    mayContinueAsNew: !!carried || wf.patched('continue-as-new'),
  });
  registerHandlers(ctx, signedDecisions);
  registerSupersedeHandler(ctx);
  registerRestartHandler(ctx);
  if (input.continued) ctx.report(); // the Web UI details and `airlock status` of the new run

  let outcome: Outcome;
  try {
    // A run that continued as new while a failed rollback waited for a human goes on waiting.
    outcome = ctx.resumedAt('awaiting_resolution') !== undefined ? 'rollback_failed' : await run(ctx);
  } catch (err) {
    outcome = await compensate(ctx, err);
  }
  await wf.CancellationScope.nonCancellable(() => finish(ctx, outcome));
  const { state } = ctx;
  return {
    workflowId: ctx.workflowId,
    outcome,
    ...(state.interruption ? { interruption: state.interruption } : {}),
    findings: state.findings,
    approvals: state.approvals,
    ...(state.waivers ? { waivers: state.waivers } : {}),
    ...(state.policyHash ? { policyHash: state.policyHash } : {}),
    ...(state.train ? { train: state.train } : {}),
    ...(state.supersededBy
      ? {
          supersededBy: state.supersededBy,
          carried: { change: ctx.change, train: state.train ?? [trainCommit(ctx.change, ctx.workflowId)] },
        }
      : {}),
  };
}

async function run(ctx: PromotionContext): Promise<Outcome> {
  // Release trains: a merge of a service with a queued promotion joins it before the gate judges.
  if (!ctx.resume && wf.patched('release-trains')) await joinTrain(ctx);
  // A continued run passed the gate in an earlier run: its settings and monitor were carried over.
  let gated = ctx.resume ? (ctx as GatedContext) : await policyGate(ctx);
  if (gated === 'blocked') return 'blocked';
  const deploying = [staging, bake, exposure, freeze, canary, awaitApproval, production];
  let stages = resumingAt(ctx, [awaitWaivers, queue, ...deploying]);
  for (;;) {
    try {
      for (const stage of stages) await stage(gated);
      return 'promoted';
    } catch (err) {
      if (!(err instanceof Restart)) throw err;
    }
    // A later merge of the service asked to be carried (restart.ts): from staging again, the slot still held.
    gated = await restartWithTrain(gated);
    stages = deploying;
  }
}

/** The stages still to run: all of them, or, in a continued run, from the one that was waiting. */
function resumingAt(ctx: PromotionContext, stages: GatedStage[]): GatedStage[] {
  const stage = ctx.resume?.stage;
  if (!stage) return stages;
  const i = stages.findIndex((s) => s.resumesIn === stage);
  if (i < 0) throw new Error(`continued in stage ${stage}, where no stage resumes`);
  return stages.slice(i);
}

/** Every way out of `run` but success: restore everything deployed, newest first. */
async function compensate(ctx: PromotionContext, err: unknown): Promise<Outcome> {
  if (err instanceof wf.ContinueAsNew) throw err; // not an ending: the next run goes on
  if (err instanceof Interrupted) return unwind(ctx);
  if (wf.isCancellation(err)) {
    // Cancelled from outside (UI, CLI): an abort; rollback and release must still happen.
    ctx.interrupt({ kind: 'aborted', by: 'temporal', reason: 'workflow cancellation requested' });
    return wf.CancellationScope.nonCancellable(() => unwind(ctx));
  }
  if (!ctx.v2) throw err; // replaying a promotion from before v2: it failed here
  // A bug in this code, not an outside failure: still compensate, and say what it was.
  ctx.interrupt({ kind: 'activity_failed', activity: 'workflow', message: String((err as Error)?.message ?? err) });
  return wf.CancellationScope.nonCancellable(() => unwind(ctx));
}

/** Runs the rollback plan; also the compensation workflow's (src/workflows/compensation.ts). */
export async function unwind(ctx: PromotionContext): Promise<Outcome> {
  const { state } = ctx;
  const outcome = state.interruption ? OUTCOME_OF[state.interruption.kind] : 'failed';
  if (ctx.rollback.isEmpty) return outcome;
  ctx.setStage('rolling_back');
  const rb: NonNullable<typeof state.rollback> = (state.rollback = { startedAt: iso(Date.now()), steps: [] });
  const report = await ctx.rollback.run((label) => rb.steps.push(label));
  rb.finishedAt = iso(Date.now());
  if (!report.error) {
    state.deployed = [];
    return outcome;
  }
  rb.error = report.error;
  if (!ctx.v2) {
    state.deployed = [];
    return 'failed';
  }
  // Never "nothing deployed" after a failed restore: the environments that were not restored stay listed.
  state.deployed = [...new Set(report.stillDeployed)];
  return 'rollback_failed';
}

/** The ending: a failed rollback waits for `resolve`, then the slot is released; shared with the compensation. */
export async function finish(ctx: PromotionContext, outcome: Outcome): Promise<void> {
  const { state } = ctx;
  if (outcome === 'rollback_failed' && ctx.v2) {
    // Something may still run the change: the service keeps its slot (nothing else of it starts)
    // until a human restores it by hand and says so, signed (airlock resolve).
    state.outcome = outcome;
    wf.upsertSearchAttributes([{ key: outcomeKey, value: outcome }]);
    ctx.setStage('awaiting_resolution');
    // This wait can last days while alerts and decisions arrive: a safe point to continue as new.
    while (!state.resolution) {
      await wf.condition(() => !!state.resolution || continueAsNewDue(ctx));
      if (!state.resolution) await continueAsNewAt(ctx, 0, () => !state.resolution);
    }
  }
  // Set before the release: the slot workflow confirms a release by asking whether we have ended.
  state.outcome = outcome;
  if (ctx.slot.requested) {
    try {
      await controlActs.releaseSlot.executeWithOptions({ summary: 'release the blast-radius slot' }, [
        ctx.slotWorkflowId,
        ctx.workflowId,
      ]);
    } catch (err) {
      // The outcome is decided: a release that could not be sent must not fail the promotion (its
      // result and outcome would be lost). The slot workflow reclaims the slot of a holder that has
      // ended at its next holder check, while another promotion waits (blast-radius.ts).
      if (!wf.patched('release-failure-tolerated')) throw err;
      wf.log.error('slot release failed; the slot workflow reclaims it once this promotion has ended', {
        error: String((err as { cause?: Error }).cause?.message ?? err),
      });
    }
  }
  state.outcome = outcome;
  state.endedAt = iso(Date.now());
  wf.upsertSearchAttributes([{ key: outcomeKey, value: outcome }]);
  ctx.setStage('ended');
  await ctx.reportsSettled();
  await wf.condition(wf.allHandlersFinished);
}
