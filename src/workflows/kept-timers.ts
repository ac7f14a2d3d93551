// Waiting for "this holds, or that time" in a long-lived workflow without ever cancelling a timer.
import * as wf from '@temporalio/workflow';

/**
 * Like `wf.condition(fn, ms)`, except that the timer is never cancelled: a wait that a signal ends
 * leaves its timer pending, and a later wait whose deadline is no earlier reuses it (waking early
 * only makes the caller's loop look again), so about one timer is pending at a time.
 *
 * Why: `wf.condition` cancels its timer when `fn` wins. When that timer fired on the server while
 * the task carrying the signal was being processed, the Java time-skipping test server rejects the
 * task's CancelTimer ("invalid history builder state for action") and never hands out another task,
 * so the slot workflow froze in the test suite (and, with a daily idle wake-up, froze env.sleep).
 * The real server accepts the cancel; this costs it nothing but a rare early wake.
 */
export class KeptTimers {
  private pending: Array<{ at: number; fired: Promise<void> }> = [];

  /** True once `fn` holds; false when `ms` has passed first. */
  async wait(fn: () => boolean, ms: number, summary: string): Promise<boolean> {
    const at = Date.now() + ms;
    for (;;) {
      if (fn()) return true;
      const now = Date.now();
      if (now >= at) return false;
      await Promise.race([wf.condition(fn), this.timerBy(at, now, summary)]);
    }
  }

  /** A pending timer that fires by `at`, or a new one for `at`. */
  private timerBy(at: number, now: number, summary: string): Promise<void> {
    const reusable = this.pending.find((t) => t.at <= at);
    if (reusable) return reusable.fired;
    const timer = { at, fired: Promise.resolve() };
    timer.fired = wf.sleep(at - now, { summary }).then(() => {
      this.pending = this.pending.filter((t) => t !== timer);
    });
    this.pending.push(timer);
    return timer.fired;
  }
}
