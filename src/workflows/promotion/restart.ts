// Release trains, trains.whileInFlight `restart` (docs/release-trains.md): a later merge of a service
// whose promotion is baking, canarying or awaiting approval asks that promotion to restart with it.
// The promotion stops where it waits, takes its canary out of production (restored to the snapshot
// from before it), keeps staging's restore (recorded before the first deploy), gates the combined
// change base..newest head, deploys it to staging and bakes it in full from the new readiness.
// Approvals given to the old diff are void; the later merge's promotion ends `superseded`.
import * as wf from '@temporalio/workflow';
import { restartUpdate, type Change, type Stage } from '../messages';
import { lookupActs } from './activity-options';
import { Interrupted, iso, type GatedContext, type PromotionContext } from './context';
import { policyGate } from './stages';
import { trainCommit } from './train';

/** Where a restart is accepted: every wait between the staging deploy and the rollout. */
const RESTARTABLE: readonly Stage[] = ['baking', 'queued_for_production', 'frozen', 'canary', 'awaiting_approval'];

const carries = (ctx: PromotionContext, by: string) => (ctx.state.train ?? []).some((c) => c.workflowId === by);

export function registerRestartHandler(ctx: PromotionContext): void {
  const { state } = ctx;
  const restartable = () =>
    RESTARTABLE.includes(state.stage) && !state.interruption && !state.restartRequest && !state.outcome;
  wf.setHandler(
    restartUpdate,
    async ({ by }) => {
      const train = () => ({ train: state.train ?? [trainCommit(ctx.change, ctx.workflowId)] });
      if (carries(ctx, by) || state.restartRequest?.by === by) return train(); // a retried request
      // Anyone with Temporal access could send this: the change comes from `by` itself, which must be
      // a promotion of this service that has not passed its gate, never from the request.
      const asking = await lookupActs.trainCandidate(by);
      const refuse = (why: string) => wf.ApplicationFailure.create({ message: `restart: ${why}`, nonRetryable: true });
      if (!asking) throw refuse(`${by} is not a running promotion`);
      if (asking.change.service !== ctx.change.service)
        throw refuse(`${by} promotes ${asking.change.service}, not ${ctx.change.service}`);
      if (asking.stage !== 'policy_gate') throw refuse(`${by} is past its gate (stage ${asking.stage})`);
      if (!restartable()) throw refuse(`no longer restartable (stage ${state.stage})`);
      state.restartRequest = { by, change: asking.change };
      ctx.report();
      return train();
    },
    {
      validator: (req) => {
        if (typeof req?.by !== 'string' || !req.by) throw new Error('restart: by: required');
        if (req.by === ctx.workflowId) throw new Error('restart: by: a promotion cannot restart itself');
        if (carries(ctx, req.by) || state.restartRequest?.by === req.by) return;
        if (!restartable())
          throw new Error(
            `restart: stage ${state.stage}${state.interruption ? ` (stopping: ${state.interruption.kind})` : ''}; a restart is accepted while baking, canarying or awaiting approval`,
          );
      },
    },
  );
}

/**
 * Carries out the accepted restart: returns the context gated on the combined change, ready for its
 * staging deploy; throws Interrupted when the canary could not be restored or the gate blocks.
 */
export async function restartWithTrain(ctx: GatedContext): Promise<GatedContext> {
  const { state, evidence } = ctx;
  const request = state.restartRequest!;
  const fromStage = state.stage;
  // The canary ran the old diff: the combined one meets production users only after its own bake.
  const canary = state.deployed.includes('production');
  if (canary) {
    ctx.setStage('rolling_back');
    const report = await ctx.rollback.runFor(['production'], () => undefined);
    if (report.error) {
      ctx.interrupt({ kind: 'deploy_failed', environment: 'production', message: `restart: ${report.error}` });
      throw new Interrupted();
    }
    state.deployed = state.deployed.filter((e) => e !== 'production');
  }
  const voided = state.approvals.map((a) => a.approver);
  if (voided.length)
    state.approvalsVoided = [
      ...(state.approvalsVoided ?? []),
      {
        at: iso(Date.now()),
        approvers: voided,
        reason: `restarted with ${request.change.commit}: approvals were given to the previous diff`,
      },
    ];
  state.approvals = [];
  for (const k of [
    'productionChange',
    'stagingReadyAt',
    'bakeEndsAt',
    'canaryStartedAt',
    'canaryWatchEndsAt',
    'approvalRequestedAt',
    'approvalDeadline',
    'stagedImages',
  ] as const)
    delete state[k];
  Object.assign(evidence, { gateAllowed: false, bakeMs: 0, stagingReadyAt: 0, bakeEndedAt: 0, canaryClean: false });
  const earlier = state.train ?? [trainCommit(ctx.change, ctx.workflowId)];
  merge(ctx.change, request.change);
  state.train = [...earlier, { ...trainCommit(request.change, request.by) }];
  state.restarts = [
    ...(state.restarts ?? []),
    {
      at: iso(Date.now()),
      by: request.by,
      commit: request.change.commit,
      fromStage,
      approvalsVoided: voided,
      canaryRestored: canary,
    },
  ];
  delete state.restartRequest;
  ctx.setStage('policy_gate');
  const gated = await policyGate(ctx);
  if (gated === 'blocked' || !ctx.evidence.gateAllowed) {
    // Waivers are not asked for a restarted train: its staging already ran the old diff.
    const blocking = state.findings.filter((f) => f.level === 'block').map((f) => f.rule);
    ctx.interrupt({ kind: 'train_blocked', commit: ctx.change.commit, blocking });
    throw new Interrupted();
  }
  // The new monitor watches staging from now: the old diff runs there until the combined one is ready.
  gated.monitor.deployed('staging', Date.now());
  return gated;
}

/** In place (the handlers and the state hold this object): the newest head, the oldest base, every author. */
function merge(change: Change, later: Change): void {
  const authors = new Set([change.author, ...(change.authors ?? []), later.author, ...(later.authors ?? [])]);
  change.commit = later.commit;
  change.version = later.version;
  change.author = later.author;
  change.authors = [...authors];
  if (later.title) change.title = later.title;
  if (later.mergedAt) change.mergedAt = later.mergedAt;
}
