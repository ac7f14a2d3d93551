// A tiny recording HTTP server for fakes: routes by method + path pattern, records every call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type Handler = (
  call: RecordedCall,
  params: string[],
) => { status: number; body?: unknown; headers?: Record<string, string> };

export interface HttpFake {
  url: string;
  calls: RecordedCall[];
  route(method: string, pattern: RegExp, handler: Handler): void;
  /** Resolves with the first recorded call matching, waiting for it if needed. */
  waitFor(pred: (c: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  close(): Promise<void>;
}

export async function startHttpFake(name: string): Promise<HttpFake> {
  const routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  const calls: RecordedCall[] = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        /* keep the raw text */
      }
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const call: RecordedCall = { method: req.method ?? 'GET', path, query, headers: req.headers, body };
      calls.push(call);
      waiters.splice(0).forEach((w) => w());
      const route = routes.find((r) => r.method === call.method && r.pattern.test(path));
      const answer = route
        ? route.handler(call, route.pattern.exec(path)!.slice(1))
        : { status: 404, body: { message: `${name} fake: no route ${call.method} ${path}` } };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    route: (method, pattern, handler) => void routes.push({ method, pattern, handler }),
    async waitFor(pred, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = calls.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline)
          throw new Error(
            `${name} fake: expected call never arrived (${calls.length} calls: ${calls.map((c) => `${c.method} ${c.path}`).join(', ')})`,
          );
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
