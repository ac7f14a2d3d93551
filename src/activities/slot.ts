// Reaching the blast-radius workflow from a promotion. signalWithStart makes the slot workflow
// exist on first use (and again after anyone terminated it), so no setup step can be forgotten.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { releaseSlotSignal, requestSlotSignal, type SlotRequest } from '../workflows/messages';
import type { blastRadius } from '../workflows/blast-radius';

export function createSlotActivities(client: Client) {
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
