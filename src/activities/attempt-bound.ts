// Activities that call Temporal (the slot, release trains, compensation) make every call inside their
// attempt: aborted when the activity is cancelled (a worker shutdown, a cancelled or timed-out
// attempt) and given up at the attempt's start-to-close deadline. Unbound, a query nobody answers (the
// target's worker gone, a query the server lost) held the attempt, and the worker's shutdown, for ever.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

type ActivityFn = (...args: any[]) => Promise<unknown>;

export function boundToAttempt<T extends Record<string, ActivityFn>>(client: Client, activities: T): T {
  const bound: Record<string, ActivityFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    bound[name] = (...args) => {
      const { info, cancellationSignal } = Context.current();
      const call = () => client.withAbortSignal(cancellationSignal, () => fn(...args));
      const budget = info.startToCloseTimeoutMs;
      return budget > 0 ? client.withDeadline(Date.now() + budget, call) : call();
    };
  }
  return bound as T;
}
