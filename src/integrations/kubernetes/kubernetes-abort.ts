// Handing an AbortSignal to a call of the typed Kubernetes client (@kubernetes/client-node 1.x).
// Its methods take per-call ConfigurationOptions, not a signal; a request middleware can set the
// signal on the RequestContext, which the client's fetch (node-fetch) passes on: an aborted
// signal refuses to send the request at all, and an abort during the request destroys its socket
// and rejects with node-fetch's AbortError.
import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';

function signalMiddleware(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (request) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
}

/** `options` (e.g. setHeaderOptions(...)) plus `signal` on the request; without a signal, `options` as is. */
export function withAbortSignal(
  signal: AbortSignal | undefined,
  options?: ConfigurationOptions<ObservableMiddleware>,
): ConfigurationOptions<ObservableMiddleware> | undefined {
  if (!signal) return options;
  return {
    ...options,
    // 'append': after the client's own middleware (the default strategy, 'replace', would drop it).
    middleware: [...(options?.middleware ?? []), signalMiddleware(signal)],
    middlewareMergeStrategy: 'append',
  };
}
