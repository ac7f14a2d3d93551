// The compensation of a promotion that ended outside its own code: terminated (Web UI, CLI, or the
// server's history limit), timed out or failed. Such a promotion ran no rollback, so the
// blast-radius slot's reaper starts this workflow, `compensate-<promotion id>` (one per promotion).
// It reads from the promotion's history what is deployed (src/client/recorded-rollback.ts),
// restores each recorded snapshot newest first with the rollback's bounded retries, and ends the
// way a promotion ends (promotion/index.ts `unwind` and `finish`, reused): outcome `failed`, or
// `rollback_failed` waiting, slot held, for a signed `airlock resolve compensate-<promotion id>`;
// then it releases the promotion's slot. It speaks for the promotion: its reports carry the
// promotion's id and change (GitHub check, Slack message, log) and its `state` query answers as the
// promotion's state would, with the interruption `workflow_ended`.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import { commitKey, serviceKey } from './search-attributes';
import { stateQuery, type Environment, type Outcome } from './messages';
import { createDecisionChecks } from './decision-checks';
import { registerResolveHandler } from './resolve-handler';
import { createContext, iso, type PromotionContext } from './promotion/context';
import { finish, unwind } from './promotion/index';

export interface CompensationInput {
  v: 1;
  promotionWorkflowId: string;
  /** The slot workflow whose holder the promotion is: released once compensated. */
  slotWorkflowId: string;
}

export interface CompensationResult {
  promotionWorkflowId: string;
  /** How the promotion's execution ended (TERMINATED, TIMED_OUT, FAILED; anything else is left alone). */
  promotionStatus: string;
  /** Undefined when there was nothing to compensate: the promotion is running or ended through its own code. */
  outcome?: Outcome;
  /** The restores run, newest first. */
  restored: string[];
  /** Environments that may still run the change (a restore failed; a human resolved it by hand). */
  stillDeployed: Environment[];
}

/** The ends of a workflow that skip its own code; the server's history limit terminates. */
export const COMPENSATED_STATUSES = ['TERMINATED', 'TIMED_OUT', 'FAILED'];

/**
 * Longer than a deploy activity's heartbeat timeout (20 s): an attempt still running on a live
 * worker when the promotion ended has been told by its next heartbeat that the workflow is gone, and
 * has stopped its deployer, before anything is restored.
 */
export const SETTLE_MS = 60_000;

const readActs = wf.proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

export async function compensation(input: CompensationInput): Promise<CompensationResult> {
  const { workflowId } = wf.workflowInfo();
  const { promotionWorkflowId } = input;
  // A history that cannot be read fails this workflow: the reaper keeps the slot held and starts it
  // again at its next check.
  const recorded = await readActs.readRecordedRollback.executeWithOptions(
    { summary: `read what ${promotionWorkflowId} left deployed` },
    [promotionWorkflowId],
  );
  const base = createContext(
    { v: 1, change: recorded.change, slotWorkflowId: input.slotWorkflowId },
    {
      v2: true,
      signedDecisions: true,
      countsOnly: true,
      mayContinueAsNew: false,
    },
  );
  // Speaks for the promotion: its id in reports and in the slot release; decisions are signed for this workflow.
  if (recorded.settings) base.settings = recorded.settings;
  const ctx: PromotionContext = { ...base, workflowId: promotionWorkflowId, settings: recorded.settings };
  const { state } = ctx;
  state.workflowId = promotionWorkflowId;
  if (recorded.settings) state.settings = recorded.settings;
  wf.upsertSearchAttributes([
    { key: serviceKey, value: recorded.change.service },
    { key: commitKey, value: recorded.change.commit },
  ]);
  // Before this version a resolve bound the workflow id only; now also the commit and policy hash.
  const bindsCommit = wf.patched('decision-binds-commit');
  if (bindsCommit && recorded.policyHash) state.policyHash = recorded.policyHash; // what signers read
  const checks = createDecisionChecks({
    workflowId,
    change: recorded.change,
    settings: () => recorded.settings,
    signedDecisions: true,
    authorSet: wf.patched('approver-identity'),
    policyHash: () => state.policyHash,
    bindsCommit,
  });
  registerResolveHandler({
    state,
    checks,
    recordRefusal: (action, who, err) =>
      state.refusals.push({ at: iso(Date.now()), who: String(who ?? '(unknown)'), action, reason: err.message }),
  });
  wf.setHandler(stateQuery, () => ({ ...state, now: iso(Date.now()) }));

  const result: CompensationResult = {
    promotionWorkflowId,
    promotionStatus: recorded.status,
    restored: [],
    stillDeployed: [],
  };
  if (!COMPENSATED_STATUSES.includes(recorded.status)) {
    // Running, or ended through its own code (which rolls back or promotes): restoring would fight it.
    wf.log.warn('compensation: nothing to do, the promotion did not end outside its own code', {
      promotionWorkflowId,
      status: recorded.status,
    });
    return result;
  }

  ctx.interrupt({
    kind: 'workflow_ended',
    status: recorded.status,
    ...(recorded.endedAt ? { endedAt: recorded.endedAt } : {}),
    compensation: workflowId,
  });
  ctx.slot.requested = true; // the promotion held a slot: finish() releases it
  state.deployed = [...new Set(recorded.restores.map((r) => r.environment))];
  wf.log.warn('compensation: promotion ended without its rollback', {
    promotionWorkflowId,
    status: recorded.status,
    toRestore: recorded.restores.map((r) => r.label),
    restoredByPromotion: recorded.restoredByPromotion,
  });
  if (recorded.restores.length) {
    const settle = (recorded.endedAt ? Date.parse(recorded.endedAt) : 0) + SETTLE_MS - Date.now();
    if (settle > 0) {
      ctx.setStage('rolling_back'); // reported now; unwind reports it again as it starts the restores
      await wf.sleep(settle, { summary: 'let deploys of the ended promotion stop' });
    }
    // The plan's restore uses the recorded policy's rollback.maxRetryMinutes bound (base.settings).
    for (const r of recorded.restores) ctx.rollback.push(r);
  }
  const outcome = await unwind(ctx);
  result.outcome = outcome;
  result.stillDeployed = [...state.deployed];
  result.restored = [...recorded.restores]
    .reverse()
    .filter((r) => !state.deployed.includes(r.environment))
    .map((r) => r.label);
  if (outcome === 'rollback_failed') {
    wf.log.error('compensation: ROLLBACK FAILED; the change may still be live; airlock resolve after fixing by hand', {
      promotionWorkflowId,
      stillDeployed: state.deployed,
      error: state.rollback?.error,
    });
  }
  await wf.CancellationScope.nonCancellable(() => finish(ctx, outcome));
  return result;
}
