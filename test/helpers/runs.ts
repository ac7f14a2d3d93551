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
 * Given the run's `historyLimit`, below it the flood waits only until its last burst is in the
 * history (a slow workflow task holds signals back; 120 s of polling without it throws), not a
 * pause: the pauses were most of a flood's time, and a test that floods twice ran past the rig's
 * watchdog on CI's loaded cores. No burst is larger than the room left below the limit (a signal
 * adds at most SIGNAL_EVENTS), and past it the flood sends one at a time, after 2 s, then each pause
 * twice the last up to 16 s: what a run holds past the limit is then the workflow's doing, which the
 * tests bound, not the flood's (bursts of 20 near the limit ended runs at up to 462 events, and 2 s
 * wake-ups at up to 772; test/workflows/continue-as-new allows 460). Written is judged by the
 * history's length, so near the limit a task's own events can pass for the burst's and one more
 * signal can join a running task: runs ended at 404-407 events under load.
 */
export async function floodUntilContinued(h: WorkflowHandle, historyLimit?: number): Promise<number> {
  const first = await h.describe();
  const before = first.runId;
  const room = (length: number) =>
    historyLimit === undefined
      ? BURST
      : Math.min(BURST, Math.max(1, Math.floor((historyLimit - length) / SIGNAL_EVENTS)));
  let sent = 0;
  let length = first.historyLength;
  let size = room(length);
  let pause = PAUSE_MS;
  for (let burst = 0; burst < 200; burst++) {
    for (let i = 0; i < size; i++, sent++) await h.signal('approve', { approver: `mallory-${sent}`, via: 'signal' });
    // Signals that arrive while a workflow task is running are written only when it ends: until
    // the history shows this burst, its length says nothing about the room left (CI sent four
    // bursts into one slow task, a run of 483 events, 64 signals past the limit).
    const written = length + size;
    const unwritten = () => historyLimit !== undefined && length < written;
    size = historyLimit === undefined ? BURST : 1;
    let below = false;
    for (let waited = 0; waited < pause || unwritten(); waited += POLL_MS) {
      if (waited > WRITE_TIMEOUT_MS) throw new Error(`the flood's signals were not in the history after ${waited} ms`);
      const d = await h.describe();
      if (d.runId !== before) return sent;
      if (d.historyLength > 0) length = d.historyLength;
      if (historyLimit !== undefined && !unwritten() && length <= historyLimit) {
        size = room(length);
        below = true;
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    // Past the limit each wake-up fails the task that is continuing the run (the server refuses to
    // close a run with new events), so a wake-up sooner than a loaded worker's task livelocks the
    // run: CI recorded 482 events, and 772 beside busy loops, all signal + failed task. Each wake-up
    // past the limit waits twice as long as the one before.
    if (historyLimit !== undefined && !below) pause = Math.min(pause * 2, MAX_PAUSE_MS);
  }
  throw new Error('the promotion never continued as new');
}

const BURST = 20;
const POLL_MS = 100;
const PAUSE_MS = 2_000;
const MAX_PAUSE_MS = 16_000;
/** A workflow task that holds signals unwritten longer than this is a stuck run, not a slow one. */
const WRITE_TIMEOUT_MS = 120_000;
/** A signal's own event and the workflow task that takes it (scheduled, started, completed). */
const SIGNAL_EVENTS = 4;
