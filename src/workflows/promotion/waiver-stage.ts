// awaiting_waiver: the policy gate blocked, but only on waivable findings. The promotion waits (with
// a deadline) for `approvers.required` distinct approvers to waive every blocking finding, then goes
// on like an allowed change: queue, staging, the full bake, canary, approval. Nothing is deployed
// while it waits, so it holds no slot; the wait is a safe point to continue as new.
import * as wf from '@temporalio/workflow';
import { HOUR_MS } from '../../common/durations';
import { waiverProgress } from '../../common/waiver-quorum';
import { Interrupted, iso, type GatedContext } from './context';
import { continueAsNewAt, continueAsNewDue } from './continuation';

/** The default of approvers.waiverTimeoutHours, for settings recorded before it existed. */
const DEFAULT_WAIVER_TIMEOUT_HOURS = 72;

export async function awaitWaivers(ctx: GatedContext): Promise<void> {
  const { evidence, settings, state } = ctx;
  if (evidence.gateAllowed) return; // the gate allowed the change: nothing to waive
  const hours = settings.approvers.waiverTimeoutHours ?? DEFAULT_WAIVER_TIMEOUT_HOURS;
  let deadline = ctx.resumedAt('awaiting_waiver');
  if (deadline === undefined) {
    const requestedAt = Date.now();
    deadline = requestedAt + hours * HOUR_MS;
    state.waiverRequestedAt = iso(requestedAt);
    state.waiverDeadline = iso(deadline);
    ctx.setStage('awaiting_waiver');
  }
  const progress = () => waiverProgress(state.findings, state.waivers ?? [], settings.approvers.required);
  const waiting = () => !progress().complete && !state.interruption;
  while (waiting() && Date.now() < deadline) {
    await wf.condition(() => !waiting() || continueAsNewDue(ctx), deadline - Date.now());
    if (waiting() && continueAsNewDue(ctx)) await continueAsNewAt(ctx, deadline, waiting);
  }
  if (state.interruption) throw new Interrupted();
  if (!progress().complete) {
    ctx.interrupt({ kind: 'waiver_timeout', hours, waiting: progress().waiting });
    throw new Interrupted();
  }
  // The production gate re-checks this from the recorded waivers (productionGateViolation).
  evidence.gateWaived = true;
}
awaitWaivers.resumesIn = 'awaiting_waiver' as const;
