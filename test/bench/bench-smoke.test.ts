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

test(
  'npm run bench -- --quick --only breach --samples 3 prints a table and writes the JSON',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-smoke-'));
    try {
      const out = join(dir, 'latest.json');
      const { stdout } = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          join(REPO_ROOT, 'bench/run.ts'),
          '--quick',
          '--only',
          'breach',
          '--samples',
          '3',
          '--out',
          out,
        ],
        {
          cwd: REPO_ROOT,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      assert.match(stdout, /\| Breach → rollback started \| p50 \(n=3\) \|/);
      assert.match(stdout, /Machine: .+, \d+ cores, [\d.]+ GB RAM, Node v\d+/);
      const report = JSON.parse(readFileSync(out, 'utf8'));
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
