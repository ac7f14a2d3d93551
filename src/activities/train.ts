// Release trains (docs/release-trains.md): a merge of a service whose earlier merge is still queued
// takes over that promotion's place in the slot queue and supersedes it, carrying its commits.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LoadedPolicy } from '../policy/config/load';
import {
  joinQueuedUpdate,
  leaveQueuedUpdate,
  restartUpdate,
  slotStateQuery,
  stateQuery,
  supersedeUpdate,
  type CarriedTrain,
  type Change,
  type Stage,
  type TrainCommit,
  type JoinQueuedRequest,
  type PromotionResult,
} from '../workflows/messages';

export interface JoinedTrain {
  /** The promotion whose place was taken over; absent when none of the service was queued. */
  supersedes?: string;
  /** What it carried, when it handed over; absent with `refused` (it ended or moved on first). */
  carried?: CarriedTrain;
  refused?: string;
  /** trains.whileInFlight `restart`: the in-flight promotion of the service restarts carrying this change. */
  restarts?: string;
  /** Its train once it accepted (this change last). */
  train?: TrainCommit[];
}

export function createTrainActivities(client: Client, loadPolicy: () => LoadedPolicy) {
  /** The service's promotion that holds its lease or slot (deployed, before its rollout) restarts carrying this one. */
  async function restartInFlight(slotWorkflowId: string, request: JoinQueuedRequest): Promise<JoinedTrain> {
    const slots = await client.workflow.getHandle(slotWorkflowId).query(slotStateQuery);
    const holder = slots.holders.find(
      (h) => h.service === request.service && h.workflowId !== request.workflowId && !h.compensation,
    );
    if (!holder) return {};
    try {
      const { train } = await client.workflow.getHandle(holder.workflowId).executeUpdate(restartUpdate, {
        args: [{ by: request.workflowId }],
        updateId: `restart-by-${request.workflowId}`,
      });
      return { restarts: holder.workflowId, train };
    } catch (err) {
      // Past its last restartable wait (rolling out, stopping, ended): this change queues behind it.
      const cause = (err as { cause?: Error }).cause?.message ?? String(err);
      return { refused: `${holder.workflowId} did not restart with this change: ${cause}` };
    }
  }
  return {
    /** Idempotent: a retry finds its own entry and the promotion it superseded already handed over. */
    async joinTrain(slotWorkflowId: string, request: JoinQueuedRequest): Promise<JoinedTrain> {
      const { coalesce, whileInFlight } = loadPolicy().policy.trains;
      if (!coalesce) return {};
      const slot = client.workflow.getHandle(slotWorkflowId);
      let supersedes: string | undefined;
      try {
        ({ supersedes } = await slot.executeUpdate(joinQueuedUpdate, { args: [request] }));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return {}; // no slot workflow yet: nothing is queued
        throw err;
      }
      if (!supersedes) return whileInFlight === 'restart' ? restartInFlight(slotWorkflowId, request) : {};
      const old = client.workflow.getHandle(supersedes);
      try {
        const carried = await old.executeUpdate(supersedeUpdate, {
          args: [{ by: request.workflowId }],
          updateId: `supersede-by-${request.workflowId}`,
        });
        return { supersedes, carried };
      } catch (err) {
        // Ended meanwhile: by this update (a retry after the hand-over), or by something else.
        const desc = await old.describe().catch(() => undefined);
        if (desc && desc.status.name !== 'RUNNING') {
          const result = (await old.result().catch(() => undefined)) as PromotionResult | undefined;
          if (result?.supersededBy === request.workflowId && result.carried)
            return { supersedes, carried: result.carried };
        }
        // Its place goes back to it (an older worker's promotion has no supersede handler; one that
        // was granted or stopped meanwhile must not lose what it holds): this change goes alone.
        await client.workflow
          .getHandle(slotWorkflowId)
          .executeUpdate(leaveQueuedUpdate, { args: [{ workflowId: request.workflowId, giveBackTo: supersedes }] });
        const cause = (err as { cause?: Error }).cause?.message ?? String(err);
        return { supersedes, refused: `${supersedes} did not hand over its commits: ${cause}` };
      }
    },
    /** Asked by a promotion told to restart: is `workflowId` a running promotion, where, with which change? */
    async trainCandidate(workflowId: string): Promise<{ stage: Stage; change: Change } | undefined> {
      try {
        const s = await client.workflow.getHandle(workflowId).query(stateQuery);
        return { stage: s.stage, change: s.change };
      } catch {
        return undefined; // ended or never started: a query names no running promotion
      }
    },
    /** Asked by a promotion told it is superseded: does the slot queue say `by` took over its place? */
    async isCarriedBy(slotWorkflowId: string, workflowId: string, by: string): Promise<boolean> {
      const slots = await client.workflow.getHandle(slotWorkflowId).query(slotStateQuery);
      return slots.queue.some((q) => q.workflowId === by && (q.replaced ?? []).includes(workflowId));
    },
  };
}
