// The runs of one workflow id, oldest first: a promotion that continued as new has several, each
// with its own history (the server limits each run, not the chain).
import type { Client, WorkflowHandle } from '@temporalio/client';
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

/**
 * Refused decisions (an unknown approver), in bursts, until the promotion has continued as new;
 * returns how many were sent. Between bursts it pauses: the server refuses to close a run while new
 * signals are arriving (the run takes them and tries again), so a flood that never pauses delays it.
 * Given the run's `historyLimit`, it pauses only once the history is past it (before that the run
 * has no reason to continue): the pauses were most of a flood's time, and a test that floods twice
 * ran past the rig's watchdog on CI's loaded cores.
 */
export async function floodUntilContinued(h: WorkflowHandle, historyLimit?: number): Promise<number> {
  const before = (await h.describe()).runId;
  let sent = 0;
  for (let burst = 0; burst < 50; burst++) {
    for (let i = 0; i < 20; i++, sent++) await h.signal('approve', { approver: `mallory-${sent}`, via: 'signal' });
    for (let poll = 0; poll < 20; poll++) {
      const d = await h.describe();
      if (d.runId !== before) return sent;
      if (historyLimit !== undefined && d.historyLength > 0 && d.historyLength <= historyLimit) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the promotion never continued as new');
}
