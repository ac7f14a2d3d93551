// Smoke test of `npm run bench`: one benchmark, quick, three samples; the JSON it writes has the
// documented shape and every figure is a positive number. Not a timed test: no figure is judged.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/tools';

const run = promisify(execFile);

/** Runs `npm run bench -- <args> --out <tmp>` and returns what it printed and the JSON it wrote. */
async function bench(args: string[]): Promise<{ stdout: string; report: any }> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-smoke-'));
  try {
    const out = join(dir, 'latest.json');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'bench/run.ts'), ...args, '--out', out],
      {
        cwd: REPO_ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { stdout, report: JSON.parse(readFileSync(out, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'npm run bench -- --quick --only breach --samples 3 prints a table and writes the JSON',
  { timeout: 180_000 },
  async () => {
    const { stdout, report } = await bench(['--quick', '--only', 'breach', '--samples', '3']);
    assert.match(stdout, /\| Breach → rollback started \| p50 \(n=3\) \|/);
    assert.match(stdout, /Machine: .+, \d+ cores, [\d.]+ GB RAM, Node v\d+/);
    assert.equal(report.version, 1);
    assert.deepEqual(report.options.only, ['breach']);
    assert.ok(report.machine.cores > 0 && report.machine.ramGb > 0 && report.machine.node.startsWith('v'));
    const breach = report.results.breach;
    assert.equal(breach.samples, 3);
    for (const side of [breach.measuredMs, breach.floorMs]) {
      assert.equal(side.n, 3);
      for (const k of ['p50', 'p99', 'min', 'max'])
        assert.ok(Number.isFinite(side[k]) && side[k] > 0, `${k} = ${side[k]}`);
    }
    assert.equal(report.rows.length, 2);
    for (const row of report.rows) assert.match(row.ratio, /^\d+\.\d\d×$/);
  },
);

test(
  'npm run bench -- --quick --only bound: a promotion flooded for two days continues as new, every run bounded, and is promoted',
  { timeout: 180_000 },
  async () => {
    const { stdout, report } = await bench(['--quick', '--only', 'bound']);
    assert.match(stdout, /\| History bound, 2 days \| max events per run \| \d+ \|/);
    const r = report.results.bound;
    assert.equal(r.outcome, 'promoted');
    // Every alert reached the promotion (one signal each), every refused decision was sent.
    assert.deepEqual([r.samplesSignalled, r.decisionsSent], [r.samples, r.decisions]);
    assert.ok(r.runs >= 3, `${r.runs} runs`);
    assert.equal(r.eventsPerRun.length, r.runs);
    // A run continues as new at its next safe point after the limit: a few tasks later at most.
    assert.ok(r.maxEventsPerRun <= r.historyLimit + 60, `a run of ${r.maxEventsPerRun} events`);
    assert.equal(
      r.totalEvents,
      r.eventsPerRun.reduce((a: number, b: number) => a + b, 0),
    );
  },
);

test(
  'bench/throughput.ts, two days of four services with coalescing: every merge is accounted for once and the queue holds at most one train per service',
  { timeout: 300_000 },
  async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'bench/throughput.ts'),
        ...['--days', '2', '--services', '4', '--per-day', '6', '--breach-percent', '20', '--configs', 'on/promotion'],
      ],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    assert.match(stdout, /^\| coalesce on, scope promotion \| .* \|$/m);
    const [r] = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(r.merges, 12);
    const other = Object.values(r.otherOutcomes as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(r.promoted + r.rolledBack + r.pending + other, r.merges);
    assert.equal(r.simulatedDays, 2);
    assert.ok(r.maxQueueDepth <= 4, `queue of ${r.maxQueueDepth} with 4 services`);
    assert.ok(r.promotionsRun >= 1 && r.promotionsRun <= r.merges);
    if (r.promoted) assert.ok(r.leadHours.p50 >= 24, `median lead ${r.leadHours.p50} h under the 24 h bake`);
  },
);
