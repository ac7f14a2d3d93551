// Starts Debian's Prometheus (installed into .tools/ by scripts/install-prometheus.sh) on loopback,
// scraping the given targets every second, with its data in a temporary directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../helpers/tools';

export const PROMETHEUS_BIN = resolve(REPO_ROOT, '.tools/prometheus/usr/bin/prometheus');

export interface PrometheusServer {
  url: string;
  /** Resolves once Prometheus has scraped every target successfully at least `scrapes` times. */
  waitForScrapes(scrapes?: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function startPrometheus(targets: string[]): Promise<PrometheusServer> {
  if (!existsSync(PROMETHEUS_BIN))
    throw new Error(`${PROMETHEUS_BIN} is missing: run bash scripts/install-prometheus.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'airlock-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: airlock-test-exporter\n    static_configs:\n      - targets: [${targets.map((t) => `"${t}"`).join(', ')}]\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr!.on('data', (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  async function waitForScrapes(scrapes = 3): Promise<void> {
    const until = Date.now() + 30_000;
    const q = `min(count_over_time(up[1m])) >= ${scrapes} and min(up) == 1`;
    for (;;) {
      const res = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
        data?: { result: unknown[] };
      };
      if (res.data?.result.length) return;
      if (Date.now() > until) throw new Error(`prometheus: targets not scraped ${scrapes} times within 30 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { url, waitForScrapes, stop };
}
