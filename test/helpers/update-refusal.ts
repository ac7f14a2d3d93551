// The message of a refused Update: the workflow's reason, as the caller receives it.
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';

export async function refusal(p: Promise<unknown>): Promise<string> {
  await assert.rejects(p, WorkflowUpdateFailedError);
  const err = (await p.catch((e) => e)) as WorkflowUpdateFailedError;
  return String((err.cause as Error).message);
}
