// The runs of one workflow id, oldest first: a promotion that continued as new has several, each
// with its own history (the server limits each run, not the chain).
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export interface RunHistory {
  runId: string;
  history: temporal.api.history.v1.IHistory;
  events: number;
  /** The run ended by continuing as new. */
  continuedAsNew: boolean;
}

export async function runHistories(client: Client, workflowId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: RunHistory['history'] = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    runs.unshift({
      runId,
      history,
      events: events.length,
      continuedAsNew: !!events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes,
    });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}
