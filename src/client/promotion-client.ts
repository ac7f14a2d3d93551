// Starting and reaching promotions from outside a workflow (CLI, server, demo, tests).
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { promotionWorkflowId, type Change, type PromotionInput } from '../workflows/messages';
import { commitKey, serviceKey, stageKey } from '../workflows/search-attributes';
import type { promotion } from '../workflows/promotion';
import { DEFAULT_TASK_QUEUE } from './temporal-connection';

export interface StartedPromotion {
  workflowId: string;
  runId: string;
  /** false when this change already had a promotion: nothing new was started. */
  started: boolean;
}

/** Idempotent: the workflow id is derived from service + commit, and an existing run is returned as is. */
export async function startPromotion(
  client: Client,
  change: Change,
  /** `historyLimit`: see PromotionInput; tests and benches only. */
  opts: { taskQueue?: string; slotWorkflowId?: string; historyLimit?: number } = {},
): Promise<StartedPromotion> {
  const workflowId = promotionWorkflowId(change);
  const input: PromotionInput = {
    v: 1,
    change,
    ...(opts.slotWorkflowId ? { slotWorkflowId: opts.slotWorkflowId } : {}),
    ...(opts.historyLimit ? { historyLimit: opts.historyLimit } : {}),
  };
  try {
    const handle = await client.workflow.start<typeof promotion>('promotion', {
      workflowId,
      taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
      args: [input],
      // A finished promotion is never silently re-run for the same commit.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: serviceKey, value: change.service },
        { key: commitKey, value: change.commit },
        { key: stageKey, value: 'policy_gate' },
      ]),
      staticSummary: `${change.service} @ ${change.commit.slice(0, 12)} → production`,
    });
    return { workflowId, runId: handle.firstExecutionRunId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const desc = await client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: desc.runId, started: false };
    }
    throw err;
  }
}

export function promotionHandle(client: Client, workflowId: string): WorkflowHandle<typeof promotion> {
  return client.workflow.getHandle<typeof promotion>(workflowId);
}
