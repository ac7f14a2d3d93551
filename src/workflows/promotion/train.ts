// Release trains (docs/release-trains.md). Joining: before its gate, a promotion takes over the
// queued place of an earlier promotion of its service and carries that one's commits, so the gate
// judges the cumulative change and every author of it is excluded from approving. Handing over:
// the queued promotion told so ends `superseded`, once the slot workflow confirms the take-over.
import * as wf from '@temporalio/workflow';
import { supersedeUpdate, type Change, type TrainCommit } from '../messages';
import { controlActs, lookupActs } from './activity-options';
import { Interrupted, type PromotionContext } from './context';

export function trainCommit(change: Change, workflowId: string): TrainCommit {
  const { commit, baseCommit, author, title, mergedAt } = change;
  return {
    commit,
    author,
    workflowId,
    ...(baseCommit ? { baseCommit } : {}),
    ...(title ? { title } : {}),
    ...(mergedAt ? { mergedAt } : {}),
  };
}

export async function joinTrain(ctx: PromotionContext): Promise<void> {
  const { change, state } = ctx;
  let joined;
  try {
    joined = await controlActs.joinTrain.executeWithOptions(
      { summary: `join a queued promotion of ${change.service} (release train)` },
      [ctx.slotWorkflowId, { workflowId: ctx.workflowId, service: change.service }],
    );
  } catch (err) {
    wf.log.warn('release train: could not join; this change is promoted alone', { error: String(err) });
    return;
  }
  if (joined.restarts) {
    // The in-flight promotion of the service restarts carrying this change (restart.ts): this one ends.
    state.train = joined.train;
    state.supersededBy = joined.restarts;
    ctx.interrupt({ kind: 'superseded', by: joined.restarts });
    throw new Interrupted();
  }
  if (joined.refused && !joined.supersedes) ctx.refuse({ who: 'trains', action: 'restart', reason: joined.refused });
  if (!joined.supersedes) return;
  if (!joined.carried) {
    ctx.refuse({ who: joined.supersedes, action: 'supersede', reason: joined.refused ?? 'no hand-over' });
    return;
  }
  // This promotion holds a place in the slot queue from here on: every ending releases it.
  ctx.slot.requested = true;
  const carried = joined.carried.change;
  const authors = new Set([carried.author, ...(carried.authors ?? []), change.author, ...(change.authors ?? [])]);
  // In place: the handlers and the state hold this object.
  if (carried.baseCommit) change.baseCommit = carried.baseCommit;
  else delete change.baseCommit;
  change.authors = [...authors];
  state.train = [...joined.carried.train, trainCommit(change, ctx.workflowId)];
  ctx.report();
}

export function registerSupersedeHandler(ctx: PromotionContext): void {
  const { state } = ctx;
  const queued = () => state.stage === 'queued' && !ctx.slot.granted && !state.interruption;
  wf.setHandler(
    supersedeUpdate,
    async ({ by }) => {
      // Anyone with Temporal access could send this: the slot workflow must say `by` has our place.
      const confirmed = await lookupActs.isCarriedBy(ctx.slotWorkflowId, ctx.workflowId, by);
      // An ApplicationFailure fails the update; any other error would fail the workflow task.
      const refuse = (why: string) =>
        wf.ApplicationFailure.create({ message: `supersede: ${why}`, nonRetryable: true });
      if (!confirmed) throw refuse(`the slot queue does not show ${by} carrying this promotion`);
      if (!queued()) throw refuse(`no longer queued (stage ${state.stage})`);
      state.supersededBy = by;
      ctx.interrupt({ kind: 'superseded', by });
      return { change: { ...ctx.change }, train: state.train ?? [trainCommit(ctx.change, ctx.workflowId)] };
    },
    {
      validator: (req) => {
        if (typeof req?.by !== 'string' || !req.by) throw new Error('supersede: by: required');
        if (req.by === ctx.workflowId) throw new Error('supersede: by: a promotion cannot supersede itself');
        if (!queued())
          throw new Error(`supersede: not queued (stage ${state.stage}); only a queued promotion joins a train`);
      },
    },
  );
}
