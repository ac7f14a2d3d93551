// Talks to the API server in the exact JSON it sends and receives. The typed client drops fields
// its models do not know (a cluster newer than the client) on reads *and* on the bodies it sends,
// and a snapshot must be read and restored field for field, verbatim.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** e.g. /apis/apps/v1/namespaces/ns/deployments/name */
  path: string;
  query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Defaults to application/json (application/apply-patch+yaml for server-side apply: JSON is YAML). */
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Sends one request and resolves with the parsed JSON answer; throws ApiException on HTTP errors
 * (its body is the server's Status). An aborted `signal` sends nothing; an abort during the request
 * destroys it (Node's AbortError).
 */
export async function sendRawJson<T = Record<string, unknown>>(kc: KubeConfig, r: RawRequest): Promise<T> {
  const { signal } = r;
  const timeoutMs = r.timeoutMs ?? 30_000;
  signal?.throwIfAborted();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(r.path, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body), 'utf8');
  const opts: import('node:https').RequestOptions = {
    method: r.method,
    headers: {
      Accept: 'application/json',
      ...(payload ? { 'Content-Type': r.contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
    },
    timeout: timeoutMs,
    ...(signal ? { signal } : {}),
  };
  await kc.applyToHTTPSOptions(opts);
  signal?.throwIfAborted();
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const req = send(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text for the error message
        }
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) resolve(body as T);
        else
          reject(
            new ApiException(code, `${r.method} ${url.pathname} failed`, body, res.headers as Record<string, string>),
          );
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${r.method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** GET `path`; throws ApiException on HTTP errors. */
export function getRawJson<T = Record<string, unknown>>(
  kc: KubeConfig,
  path: string,
  timeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<T> {
  return sendRawJson<T>(kc, { method: 'GET', path, timeoutMs, signal });
}
