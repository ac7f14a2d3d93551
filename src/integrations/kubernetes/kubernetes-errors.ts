// What a Kubernetes API failure means for Airlock: retry (409 conflict, 429, 5xx, network, timeout)
// or give up at once (401/403/404/422 and other 4xx) with a message naming the object and reason.
import { ApiException } from '@kubernetes/client-node';
import { abortable, sleep, throwIfAborted } from '../cancellation';
import { DeployRejectedError } from '../deployer';

/** A failure that a later attempt may not see: the activity's retry policy (or withRetry) handles it. */
export class KubernetesTransientError extends Error {
  readonly retryable = true;
}

/**
 * A rollout that did not become ready (progress deadline exceeded, or Airlock's own timeout).
 * Re-applying the same template cannot fix it, so it is not retried: the promotion rolls back.
 */
export class RolloutFailedError extends DeployRejectedError {}

/** "Deployment staging/payment-service" — how every message names the object. */
export function describeObject(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}

interface StatusBody {
  reason?: string;
  message?: string;
}

function statusOf(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      return statusOf(JSON.parse(body));
    } catch {
      return { message: body.slice(0, 300) };
    }
  }
  return body && typeof body === 'object' ? (body as StatusBody) : {};
}

// 409 is a conflict with a concurrent writer: re-reading and re-applying resolves it.
const RETRYABLE_STATUS = new Set([408, 409, 429]);

/** Classifies a failed call on `object` (see describeObject) as rejected or transient. */
export function classifyKubernetesError(err: unknown, verb: string, object: string): Error {
  if (err instanceof DeployRejectedError || err instanceof KubernetesTransientError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    const status = statusOf(err.body);
    const why = `${code}${status.reason ? ` ${status.reason}` : ''}: ${status.message ?? 'no message from the API server'}`;
    if (RETRYABLE_STATUS.has(code) || code >= 500)
      return new KubernetesTransientError(`kubernetes: ${verb} ${object}: ${why}`);
    const hint =
      code === 401
        ? ' (the kubeconfig credentials were refused)'
        : code === 403
          ? ' (RBAC: see docs/kubernetes.md for the role the deployer needs)'
          : '';
    return new DeployRejectedError(`kubernetes: ${verb} ${object} refused: ${why}${hint}`);
  }
  // No HTTP answer at all: connection refused or reset, DNS, TLS handshake, socket timeout.
  return new KubernetesTransientError(`kubernetes: ${verb} ${object}: ${(err as Error)?.message ?? String(err)}`);
}

export interface RetryOptions {
  attempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** One attempt that has no answer after this long counts as a (transient) timeout. */
  attemptTimeoutMs?: number;
}

/**
 * One attempt, bounded by `ms`: `fn` gets a signal that aborts when the attempt times out (its
 * request is dropped, and the attempt fails as a transient timeout) or when `signal` aborts (the
 * attempt rejects at once with the abort reason). The typed client has no request timeout of its
 * own: a hung API server must not hold a deploy for 20 minutes.
 */
async function attemptWithin<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  ms: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<T> {
  throwIfAborted(signal);
  const attempt = new AbortController();
  const timer = setTimeout(
    () => attempt.abort(new KubernetesTransientError(`kubernetes: ${what}: no answer within ${ms} ms`)),
    ms,
  );
  const onAbort = () => attempt.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await abortable(fn(attempt.signal), attempt.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs one API call (read-modify-write included) and retries it on transient failures with
 * bounded exponential backoff; the last transient error is thrown for the activity retry policy.
 *
 * `signal` (the activity's cancellation) ends it at once: the attempt in flight is aborted, a
 * backoff sleep ends, no further attempt starts, and the abort reason is thrown as is (never
 * classified, never retried). `fn` gets the attempt's signal: hand it to every request it sends.
 */
export async function withRetry<T>(
  verb: string,
  object: string,
  fn: (signal: AbortSignal) => Promise<T>,
  o: RetryOptions = {},
  signal?: AbortSignal,
): Promise<T> {
  const attempts = o.attempts ?? 5;
  let delay = o.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptWithin(fn, o.attemptTimeoutMs ?? 30_000, `${verb} ${object}`, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const classified = classifyKubernetesError(err, verb, object);
      if (!(classified instanceof KubernetesTransientError) || attempt >= attempts) throw classified;
      await sleep(delay + Math.floor(Math.random() * delay), signal);
      delay = Math.min(delay * 2, o.maxDelayMs ?? 5_000);
    }
  }
}
