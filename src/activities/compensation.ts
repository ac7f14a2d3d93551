// Compensation of promotions that ended outside their own code (src/workflows/compensation.ts):
// reading what a promotion's history says is deployed, and starting its compensation workflow
// exactly once per promotion, whichever reaper asks and however often.
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { FailureType } from '../common/failure-types';
import { readRecordedRollback, type RecordedRollback } from '../client/recorded-rollback';
import { compensationWorkflowId } from '../workflows/messages';
import { serviceKey } from '../workflows/search-attributes';
import type { compensation } from '../workflows/compensation';

export function createCompensationActivities(client: Client) {
  return {
    async readRecordedRollback(promotionWorkflowId: string): Promise<RecordedRollback> {
      try {
        return await readRecordedRollback(client, promotionWorkflowId);
      } catch (err) {
        // Reading history answers NOT_FOUND (gRPC 5) rather than WorkflowNotFoundError.
        if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) {
          throw ApplicationFailure.create({
            type: FailureType.PromotionHistoryMissing,
            message: `compensation: no history of ${promotionWorkflowId} (past the namespace's retention?): cannot tell what it left deployed`,
            nonRetryable: true,
          });
        }
        throw err;
      }
    },

    /**
     * Starts `compensate-<promotion id>` unless it runs or has completed (then its status is
     * returned); a run that was terminated, timed out or failed is started again.
     */
    async startCompensation(req: {
      promotionWorkflowId: string;
      service: string;
      slotWorkflowId: string;
    }): Promise<{ workflowId: string; status: string }> {
      const workflowId = compensationWorkflowId(req.promotionWorkflowId);
      try {
        await client.workflow.start<typeof compensation>('compensation', {
          workflowId,
          taskQueue: Context.current().info.taskQueue,
          args: [{ v: 1, promotionWorkflowId: req.promotionWorkflowId, slotWorkflowId: req.slotWorkflowId }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          typedSearchAttributes: new TypedSearchAttributes([{ key: serviceKey, value: req.service }]),
          staticSummary: `Compensation: restore what ${req.promotionWorkflowId} left deployed`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err; // it completed: the status says so
      }
      const d = await client.workflow.getHandle(workflowId).describe();
      return { workflowId, status: d.status.name };
    },
  };
}
