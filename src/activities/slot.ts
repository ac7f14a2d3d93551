// Reaching the blast-radius workflow from a promotion. signalWithStart makes the slot workflow
// exist on first use (and again after anyone terminated it), so no setup step can be forgotten.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { HOUR_MS } from '../common/durations';
import type { LoadedPolicy } from '../policy/config/load';
import {
  releaseSlotSignal,
  requestSlotSignal,
  slotStateQuery,
  stateQuery,
  STAGES,
  type SlotHolder,
  type SlotRequest,
} from '../workflows/messages';
import type { blastRadius } from '../workflows/blast-radius';

/** Stages of a promotion that holds the slot: granted and not yet ended. */
const HOLDING_STAGES = STAGES.slice(STAGES.indexOf('staging'), STAGES.indexOf('ended'));

export function createSlotActivities(client: Client, loadPolicy: () => LoadedPolicy) {
  const signalSlot = async (
    slotWorkflowId: string,
    send:
      | { signal: typeof requestSlotSignal; args: [SlotRequest] }
      | { signal: typeof releaseSlotSignal; args: [{ workflowId: string }] },
  ) => {
    await client.workflow.signalWithStart<typeof blastRadius, [unknown]>('blastRadius', {
      workflowId: slotWorkflowId,
      taskQueue: Context.current().info.taskQueue,
      args: [{ v: 1 }],
      signal: send.signal as never,
      signalArgs: send.args as never,
      staticSummary: 'Blast-radius slot: services in flight and hourly starts',
    });
  };
  return {
    async requestSlot(slotWorkflowId: string, request: SlotRequest): Promise<void> {
      await signalSlot(slotWorkflowId, { signal: requestSlotSignal, args: [request] });
    },
    async releaseSlot(slotWorkflowId: string, workflowId: string): Promise<void> {
      await signalSlot(slotWorkflowId, { signal: releaseSlotSignal, args: [{ workflowId }] });
    },
    /** The fleet-wide limits, from the policy on disk: never from a request anyone can send. */
    async slotLimits(): Promise<{ maxServicesInFlight: number; maxStartsPerHour: number }> {
      return loadPolicy().policy.blastRadius;
    },
    /**
     * Asked by a promotion that received a grant: is it really a holder of this slot? With
     * `slot: true` (scope production, before the canary) a holder of a lease only does not count.
     */
    async isSlotHolder(slotWorkflowId: string, workflowId: string, opts?: { slot?: boolean }): Promise<boolean> {
      const slots = await client.workflow.getHandle(slotWorkflowId).query(slotStateQuery);
      return slots.holders.some((h) => h.workflowId === workflowId && !(opts?.slot && h.lease));
    },
    /** Asked by the slot workflow before it accepts a release: has this promotion ended (or is it gone)? */
    async hasPromotionEnded(workflowId: string): Promise<boolean> {
      try {
        const handle = client.workflow.getHandle(workflowId);
        if ((await handle.describe()).status.name !== 'RUNNING') return true;
        const state = await handle.query(stateQuery);
        return state.outcome !== undefined || state.stage === 'ended';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return true;
        throw err;
      }
    },
    /**
     * A slot workflow created anew (after it failed or was terminated) asks which promotions of its
     * task queue were granted and have not ended, before it grants anything. Open executions by
     * type, then each one's own state: works with every visibility store, the time-skipping server's too.
     */
    async recoverSlotHolders(taskQueue: string): Promise<SlotHolder[]> {
      const holders: SlotHolder[] = [];
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await client.workflowService.listOpenWorkflowExecutions({
          namespace: client.options.namespace,
          maximumPageSize: 500,
          typeFilter: { name: 'promotion' },
          startTimeFilter: { earliestTime: msToTs(0), latestTime: msToTs(Date.now() + HOUR_MS) },
          ...(nextPageToken?.length ? { nextPageToken } : {}),
        });
        for (const e of page.executions ?? []) {
          const workflowId = e.execution?.workflowId;
          if (!workflowId) continue;
          const handle = client.workflow.getHandle(workflowId);
          // The time-skipping server ignores the type filter and leaves the task queue empty.
          const d = e.taskQueue && e.type?.name ? undefined : await handle.describe();
          if ((e.type?.name || d?.type) !== 'promotion' || (e.taskQueue || d?.taskQueue) !== taskQueue) continue;
          // The promotion's own state, not its search attributes: visibility may lag or drop them.
          const state = await handle.query(stateQuery);
          if (!HOLDING_STAGES.includes(state.stage as never)) continue;
          // Scope production: a lease until the production slot was granted.
          const lease =
            state.blastRadiusScope === 'production' && !state.productionSlotAt ? { lease: true as const } : {};
          holders.push({
            workflowId,
            service: state.change.service,
            grantedAt: state.productionSlotAt ?? state.stagingReadyAt ?? state.now,
            ...lease,
          });
        }
        nextPageToken = page.nextPageToken ?? undefined;
      } while (nextPageToken?.length);
      return holders;
    },
    /**
     * Of the given workflow ids, those that are no longer running, with how they ended: the status
     * name of describe() (TERMINATED, TIMED_OUT, FAILED, COMPLETED, ...) or NOT_FOUND. Slot
     * workflows recorded before compensate-ended-holders got bare ids here.
     */
    async findEndedWorkflows(workflowIds: string[]): Promise<Array<{ workflowId: string; status: string }>> {
      const ended: Array<{ workflowId: string; status: string }> = [];
      for (const workflowId of workflowIds) {
        try {
          const d = await client.workflow.getHandle(workflowId).describe();
          if (d.status.name !== 'RUNNING') ended.push({ workflowId, status: d.status.name });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) ended.push({ workflowId, status: 'NOT_FOUND' });
          else throw err;
        }
      }
      return ended;
    },
  };
}
