// Reads an object as the exact JSON the API server sent. The typed client drops fields its models
// do not know (a cluster newer than the client), and a snapshot must restore every field verbatim.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

/**
 * GET `path` (e.g. /apis/apps/v1/namespaces/ns/deployments/name); throws ApiException on HTTP errors.
 * An aborted `signal` sends nothing; an abort during the request destroys it (Node's AbortError).
 */
export async function getRawJson<T = Record<string, unknown>>(
  kc: KubeConfig,
  path: string,
  timeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
  const opts: import('node:https').RequestOptions = {
    method: 'GET',
    headers: { Accept: 'application/json' },
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
        else reject(new ApiException(code, `GET ${url.pathname} failed`, body, res.headers as Record<string, string>));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
