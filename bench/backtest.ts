// Benchmark: `airlock backtest` over a synthetic first-parent history (~200 commits across ten
// services: scaling, memory, docs, forbidden paths, merges), all in one process, next to the
// reference measured in the same run: `airlock check --repo` started once per commit as its own
// process, on the first commits of the same history. The ratio is what checking a history in one
// process saves. The reference runs the compiled CLI (bin/airlock.js) when dist/ is built, else
// the tsx launcher, and says which. Run alone: npx tsx bench/backtest.ts [--quick];
// `npm run bench` runs it as the "backtest" benchmark.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { backtest } from '../src/cli/backtest-run';
import { deployment, gitHistory, type GitHistory } from '../test/policy/git-history';

const REPO_ROOT = join(__dirname, '..');
const POLICY = join(REPO_ROOT, 'test/fixtures/changes/policy.yaml');
const SERVICES = ['notification-service', 'search-service', 'payment-service', 'api-gateway'].concat(
  Array.from({ length: 6 }, (_, i) => `worker-${i}`),
);
const run = promisify(execFile);

export interface BacktestBenchOptions {
  commits: number;
  referenceCommits: number;
}

export const FULL: BacktestBenchOptions = { commits: 200, referenceCommits: 10 };
export const QUICK: BacktestBenchOptions = { commits: 40, referenceCommits: 3 };

export interface BacktestBenchResult {
  commits: number;
  blocked: number;
  wallMs: number;
  commitsPerSecond: number;
  medianMsPerCommit: number;
  p95MsPerCommit: number;
  referenceCommits: number;
  referenceLauncher: string;
  referenceMs: number[];
  referenceMedianMs: number;
  /** Reference median per commit ÷ backtest median per commit. */
  speedUp: number;
}

/** A history of `n` commits after the root: mostly safe changes, some blocked, a merge every 25. */
export function writeHistory(n: number): GitHistory {
  const h = gitHistory();
  const replicas = new Map(SERVICES.map((s) => [s, 2]));
  const path = (s: string) => `k8s/staging/${s}/deployment.yaml`;
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 9) + i * 3_600_000).toISOString();
  h.commit(
    Object.fromEntries([...SERVICES.map((s) => [path(s), deployment(s, 2)]), ['README.md', '# bench\n']]),
    'initial',
    at(0),
  );
  for (let i = 1; i <= n; i++) {
    const s = SERVICES[(i + Math.floor(i / 10)) % SERVICES.length];
    if (i % 25 === 0) {
      // A branch of two commits merged with --no-ff: the walk judges only the merge.
      h.git('checkout', '-q', '-b', `topic-${i}`);
      h.commit({ [`docs/topic-${i}.md`]: `topic ${i}\n` }, `topic ${i}: docs`, at(i));
      h.commit({ [path(s)]: deployment(s, 3) }, `topic ${i}: scale ${s}`, at(i));
      h.git('checkout', '-q', 'main');
      h.merge(`topic-${i}`, `Merge topic ${i}`, at(i));
      replicas.set(s, 3);
    } else if (i % 10 === 3) h.commit({ 'README.md': `# bench\n\nrevision ${i}\n` }, `docs ${i}`, at(i));
    else if (i % 10 === 7) {
      replicas.set(s, replicas.get(s)! + 11); // above the fixture policy's maxReplicas (10)
      h.commit({ [path(s)]: deployment(s, replicas.get(s)!) }, `scale ${s} far`, at(i));
    } else if (i % 20 === 9)
      h.commit(
        { [`k8s/production/${s}/deployment.yaml`]: deployment(s, 1 + (i % 3), 'production') },
        `production ${s}`,
        at(i),
      );
    else {
      replicas.set(s, 1 + (replicas.get(s)! % 5));
      h.commit({ [path(s)]: deployment(s, replicas.get(s)!) }, `scale ${s}`, at(i));
    }
  }
  return h;
}

/** `airlock check` on one commit against its first parent, as its own process; exit 1 (block) is a result. */
async function checkProcess(launcher: string[], repo: string, sha: string): Promise<void> {
  const args = [...launcher, 'check', '--policy', POLICY, '--repo', repo, '--base-ref', `${sha}^`, '--head-ref', sha];
  try {
    await run(process.execPath, args, { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    if ((err as { code?: number }).code !== 1) throw err;
  }
}

const middle = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchBacktest(o: BacktestBenchOptions = FULL): Promise<BacktestBenchResult> {
  const h = writeHistory(o.commits);
  try {
    const args = { repo: h.dir, policy: POLICY, paths: [], json: true };
    // A warm-up (the docs commits only): module loading is a once-per-process cost, counted in the reference.
    await backtest({ ...args, paths: ['README.md'] });
    const started = performance.now();
    const report = await backtest(args);
    const wallMs = performance.now() - started;
    const compiled = join(REPO_ROOT, 'dist', 'cli', 'main.js');
    const launcher = existsSync(compiled)
      ? [join(REPO_ROOT, 'bin', 'airlock.js')]
      : ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts')];
    const referenceMs: number[] = [];
    for (const c of report.commits.slice(0, o.referenceCommits)) {
      const t = performance.now();
      await checkProcess(launcher, h.dir, c.sha);
      referenceMs.push(performance.now() - t);
    }
    const referenceMedianMs = middle(referenceMs);
    return {
      commits: report.totals.commits,
      blocked: report.totals.blocked,
      wallMs,
      commitsPerSecond: report.totals.commits / (wallMs / 1000),
      medianMsPerCommit: report.totals.medianMs,
      p95MsPerCommit: report.totals.p95Ms,
      referenceCommits: referenceMs.length,
      referenceLauncher: existsSync(compiled) ? 'bin/airlock.js (compiled)' : 'tsx src/cli/main.ts (dist/ not built)',
      referenceMs,
      referenceMedianMs,
      speedUp: referenceMedianMs / report.totals.medianMs,
    };
  } finally {
    h.remove();
  }
}

async function main(): Promise<void> {
  const r = await benchBacktest(process.argv.includes('--quick') ? QUICK : FULL);
  console.log(`history: ${r.commits} first-parent commits checked, ${r.blocked} blocked`);
  console.log(
    `backtest (one process):  ${r.commitsPerSecond.toFixed(1)} commits/s; per commit median ${r.medianMsPerCommit} ms, p95 ${r.p95MsPerCommit} ms; ${(r.wallMs / 1000).toFixed(1)} s in all`,
  );
  console.log(
    `reference (airlock check per commit, ${r.referenceLauncher}): median ${r.referenceMedianMs.toFixed(0)} ms of ${r.referenceCommits} [${r.referenceMs.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  console.log(`speed-up in one process: ${r.speedUp.toFixed(1)}× per commit`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
