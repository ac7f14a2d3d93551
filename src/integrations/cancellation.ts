// Honouring an AbortSignal (a deploy activity's cancellation) in deployer code: every wait ends at
// the abort, and what rejects is the signal's own reason (the activity's CancelledFailure), so no
// caller mistakes a cancellation for a failure to classify or retry.

/** Throws the abort reason if `signal` has aborted: the check before any new request or attempt. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

/**
 * Settles as `p`, or rejects with the abort reason the moment `signal` aborts. `p` itself is left to
 * settle on its own (its rejection stays handled): pass the signal into `p`'s requests too, so that
 * nothing it would do next is sent.
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with the abort reason the moment `signal` aborts (at once if it has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
