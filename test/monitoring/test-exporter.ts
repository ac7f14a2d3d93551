// A test exporter: GET /metrics serves http_requests_total{service,environment,version,code}
// counters that grow at the request rate and error ratio the test sets, series by series.
// Counters advance at scrape time from elapsed wall time, so rates are exact without timers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PoissonSampler, Random } from '../../bench/lib/poisson-sampler';

export interface Traffic {
  service: string;
  environment: 'staging' | 'production';
  version: string;
  /** Requests per second. */
  rps: number;
  /** Fraction of requests answered 500. */
  errorRatio: number;
  /**
   * Poisson noise, seeded: each scrape adds Poisson-distributed requests and errors (means from the
   * elapsed time) instead of their exact expected numbers, as real traffic does.
   */
  noiseSeed?: number;
}

interface Series extends Traffic {
  ok: number;
  errors: number;
  at: number;
  random?: Random;
}

export interface TestExporter {
  /** host:port, for a scrape config. */
  target: string;
  set(t: Traffic): void;
  /** Stops exposing the series (as a crashed or renamed service would). */
  remove(service: string, environment: string, version: string): void;
  close(): Promise<void>;
}

const key = (service: string, environment: string, version: string) => `${service}/${environment}/${version}`;

export async function startTestExporter(): Promise<TestExporter> {
  const series = new Map<string, Series>();
  const advance = (s: Series, now: number) => {
    const dt = (now - s.at) / 1000;
    const draw = (mean: number) => (s.random ? new PoissonSampler(mean).draw(s.random) : mean);
    s.ok += draw(s.rps * (1 - s.errorRatio) * dt);
    s.errors += draw(s.rps * s.errorRatio * dt);
    s.at = now;
  };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const now = Date.now();
    const lines = ['# HELP http_requests_total Requests served.', '# TYPE http_requests_total counter'];
    for (const s of series.values()) {
      advance(s, now);
      const labels = `service="${s.service}",environment="${s.environment}",version="${s.version}"`;
      lines.push(`http_requests_total{${labels},code="200"} ${s.ok.toFixed(3)}`);
      lines.push(`http_requests_total{${labels},code="500"} ${s.errors.toFixed(3)}`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    set(t) {
      const k = key(t.service, t.environment, t.version);
      const existing = series.get(k);
      const random = t.noiseSeed === undefined ? undefined : new Random(t.noiseSeed);
      if (existing) {
        advance(existing, Date.now()); // the old rates up to now, the new ones from now on
        Object.assign(existing, t, { random });
      } else {
        series.set(k, { ...t, ok: 0, errors: 0, at: Date.now(), random });
      }
    },
    remove(service, environment, version) {
      series.delete(key(service, environment, version));
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
