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
 * ran past the rig's watchdog on CI's loaded cores. No burst is larger than the room left below the
 * limit (a signal adds at most SIGNAL_EVENTS), and past it the flood sends one at a time: what a run
 * holds past the limit is then the workflow's doing, which the tests bound, not the flood's (bursts of
 * 20 near the limit ended runs at up to 462 events; test/workflows/continue-as-new allows 460).
 */
export async function floodUntilContinued(h: WorkflowHandle, historyLimit?: number): Promise<number> {
  const first = await h.describe();
  const before = first.runId;
  const room = (length: number) =>
    historyLimit === undefined
      ? BURST
      : Math.min(BURST, Math.max(1, Math.floor((historyLimit - length) / SIGNAL_EVENTS)));
  let sent = 0;
  let size = room(first.historyLength);
  for (let burst = 0; burst < 200; burst++) {
    for (let i = 0; i < size; i++, sent++) await h.signal('approve', { approver: `mallory-${sent}`, via: 'signal' });
    size = historyLimit === undefined ? BURST : 1;
    for (let poll = 0; poll < 20; poll++) {
      const d = await h.describe();
      if (d.runId !== before) return sent;
      if (historyLimit !== undefined && d.historyLength > 0 && d.historyLength <= historyLimit) {
        size = room(d.historyLength);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the promotion never continued as new');
}

const BURST = 20;
/** A signal's own event and the workflow task that takes it (scheduled, started, completed). */
const SIGNAL_EVENTS = 4;
