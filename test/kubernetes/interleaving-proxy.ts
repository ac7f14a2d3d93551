// A loopback HTTP proxy in front of the test cluster's API server that lets a test interleave a
// real concurrent write just before a request of the deployer reaches the server. The 409 the
// deployer then gets is the API server's own answer to a stale resourceVersion, not a fake.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { TestCluster } from '../helpers/kubernetes-cluster';

export interface Seen {
  method: string;
  path: string;
  status: number;
}

export interface InterleavingProxy {
  /** A kubeconfig for the user `airlock-deployer` that talks through the proxy. */
  kubeconfig: KubeConfig;
  seen: Seen[];
  close(): Promise<void>;
}

/** `before(req)` runs (and is awaited) before each request is forwarded. */
export async function startInterleavingProxy(
  cluster: TestCluster,
  before: (req: IncomingMessage) => Promise<void>,
): Promise<InterleavingProxy> {
  const upstream = new URL(cluster.server);
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        await before(req);
        const headers = { ...req.headers, host: upstream.host };
        const up = httpsRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers,
            rejectUnauthorized: false,
          },
          (upRes) => {
            seen.push({ method: req.method ?? '?', path: req.url ?? '?', status: upRes.statusCode ?? 0 });
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on('error', (err) => {
          res.writeHead(502);
          res.end(String(err));
        });
        up.end(Buffer.concat(chunks));
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const base = cluster.kubeconfig('airlock');
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: 'proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'airlock', token: base.getCurrentUser()!.token }],
    contexts: [{ name: 'airlock', cluster: 'proxy', user: 'airlock' }],
    currentContext: 'airlock',
  });
  return {
    kubeconfig,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
