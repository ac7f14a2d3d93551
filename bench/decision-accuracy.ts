// Benchmark: how often each rollback rule rolls back a healthy version over a whole promotion, and
// how fast it rolls back a regressed one: today's per-sample rule (src/workflows/breach-rule.ts)
// and the sequential test (src/workflows/sequential-breach-test.ts) side by side, fed the same
// simulated counts. Seeded: the same table on every run. Method and figures: docs/monitoring.md
// "Decision accuracy". Run alone: npx tsx bench/decision-accuracy.ts [--quick];
// `npm run bench` runs it as the "decision" benchmark.
//
// Traffic: Poisson errors at a fixed true rate; request counts per minute are the expected ones
// (rps × 60: both rules condition on request counts, only the errors are the noise in question).
// Production rps 1, 10, 100, 1,000; the canary gets 10 %, the stable version 90 %, staging 10 % of
// production (the README states no staging traffic; our assumption). Promotion: 24 h bake, 30 min
// canary, 2 h approval wait with the canary watched, 30 min production watch; one sample per
// non-overlapping minute. A simulated promotion stops once both rules have decided: every minute
// up to a rule's decision is simulated, none is aggregated.
import { cpus } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Random } from './lib/poisson-sampler';
import {
  APPROVAL_WAIT_MINUTES,
  BAKE_MINUTES,
  CANARY_MINUTES,
  FALSE_ROLLBACK_RATE,
  PromotionTraffic,
  TOTAL_MINUTES,
  type Setting,
  type Where,
} from './lib/promotion-traffic';

export const RATES = [0.0005, 0.002, 0.01, 0.05];
export const TRAFFIC_RPS = [1, 10, 100, 1000];
export const RISES = [0.05, 0.1, 0.25, 1, 10];

export interface DecisionAccuracyOptions {
  healthyPromotions: number;
  regressedPromotions: number;
  seed: number;
  workers: number;
}

export const FULL: DecisionAccuracyOptions = {
  healthyPromotions: 10_000,
  regressedPromotions: 1_000,
  seed: 20261127,
  workers: Math.min(2, cpus().length),
};
export const QUICK: DecisionAccuracyOptions = { ...FULL, healthyPromotions: 500, regressedPromotions: 100 };

interface Job {
  id: number;
  setting: Setting;
  rise: number;
  where: Where;
  n: number;
  seed: number;
}

interface JobResult {
  id: number;
  oldAt: number[];
  oldSilence: number;
  newAt: number[];
  newShort: number;
}

function runJob(job: Job): JobResult {
  const traffic = new PromotionTraffic(job.setting, job.rise, job.where);
  const random = new Random(job.seed);
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let oldSilence = 0;
  let newShort = 0;
  for (let i = 0; i < job.n; i++) {
    const o = traffic.run(random);
    oldAt.push(o.oldAt);
    newAt.push(o.newAt);
    if (o.oldSilence) oldSilence++;
    if (o.newShort) newShort++;
  }
  return { id: job.id, oldAt, oldSilence, newAt, newShort };
}

export interface Cell {
  setting: Setting;
  rise: number;
  where: Where;
  n: number;
  /** Fraction rolled back during the promotion, and by silence (old rule only). */
  oldRolledBack: number;
  oldSilence: number;
  newRolledBack: number;
  /** Promotions with a watch too quiet to judge (no breach): rolled back by the default policy, not with `hold`. */
  newShort: number;
  /** Minutes to rollback (from staging readiness, or from the canary's start for `production`). */
  oldMedian: number;
  oldP95: number;
  newMedian: number;
  newP95: number;
}

export interface DecisionAccuracyResult {
  options: DecisionAccuracyOptions;
  healthy: Cell[];
  everywhere: Cell[];
  production: Cell[];
  wallSeconds: number;
}

/** Nearest-rank percentile over all promotions, Infinity counting as "not rolled back". */
function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1];
}

function cell(job: Job, r: JobResult): Cell {
  // A `production` run starts at the canary (its staging is not simulated): times are already from there.
  const old = [...r.oldAt].sort((a, b) => a - b);
  const neu = [...r.newAt].sort((a, b) => a - b);
  const caught = (xs: number[]) => xs.filter(Number.isFinite).length / xs.length;
  return {
    setting: job.setting,
    rise: job.rise,
    where: job.where,
    n: job.n,
    oldRolledBack: caught(old),
    oldSilence: r.oldSilence / job.n,
    newRolledBack: caught(neu),
    newShort: r.newShort / job.n,
    oldMedian: quantile(old, 0.5),
    oldP95: quantile(old, 0.95),
    newMedian: quantile(neu, 0.5),
    newP95: quantile(neu, 0.95),
  };
}

function jobs(o: DecisionAccuracyOptions): Array<Job & { kind: 'healthy' | Where }> {
  const out: Array<Job & { kind: 'healthy' | Where }> = [];
  let id = 0;
  for (const rate of RATES)
    for (const rps of TRAFFIC_RPS) {
      const setting = { rate, rps };
      // Healthy: true rate = baseline, the whole promotion in every run.
      out.push({ id: id++, kind: 'healthy', setting, rise: 0, where: 'everywhere', n: o.healthyPromotions, seed: 0 });
      for (const rise of RISES)
        for (const where of ['everywhere', 'production'] as const)
          out.push({ id: id++, kind: where, setting, rise, where, n: o.regressedPromotions, seed: 0 });
    }
  // Healthy jobs are the long ones: split each across workers, then hand out longest first.
  const split: Array<Job & { kind: 'healthy' | Where }> = [];
  for (const j of out) {
    const parts = j.kind === 'healthy' ? 4 : 1;
    for (let p = 0; p < parts; p++) split.push({ ...j, n: Math.ceil(j.n / parts), seed: o.seed + 7919 * split.length });
  }
  return split;
}

async function runAll(list: Job[], workers: number): Promise<Map<number, JobResult>> {
  const results = new Map<number, JobResult>();
  const add = (r: JobResult) => {
    const prev = results.get(r.id);
    if (!prev) results.set(r.id, r);
    else {
      prev.oldAt.push(...r.oldAt);
      prev.newAt.push(...r.newAt);
      prev.oldSilence += r.oldSilence;
      prev.newShort += r.newShort;
    }
  };
  if (workers <= 1) {
    for (const j of list) add(runJob(j));
    return results;
  }
  const queue = [...list];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const w = new Worker(__filename, { workerData: { decisionAccuracy: true }, execArgv: ['--require', 'tsx/cjs'] });
      try {
        for (let j = queue.shift(); j; j = queue.shift()) {
          const job = j;
          const r = await new Promise<JobResult>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage(job);
          });
          w.removeAllListeners('error');
          add(r);
        }
      } finally {
        await w.terminate();
      }
    }),
  );
  return results;
}

export async function benchDecisionAccuracy(o: DecisionAccuracyOptions = FULL): Promise<DecisionAccuracyResult> {
  const started = performance.now();
  const list = jobs(o);
  const results = await runAll(list, o.workers);
  const seen = new Set<number>();
  const res: DecisionAccuracyResult = { options: o, healthy: [], everywhere: [], production: [], wallSeconds: 0 };
  for (const j of list) {
    if (seen.has(j.id)) continue;
    seen.add(j.id);
    const c = cell({ ...j, n: results.get(j.id)!.newAt.length }, results.get(j.id)!);
    (j.kind === 'healthy' ? res.healthy : j.kind === 'everywhere' ? res.everywhere : res.production).push(c);
  }
  res.wallSeconds = (performance.now() - started) / 1000;
  return res;
}

// ---- printing -------------------------------------------------------------------------------

const pct = (x: number) => `${(100 * x).toFixed(x > 0 && x < 0.001 ? 3 : x < 0.1 ? 2 : 1)} %`;
const rateText = (r: number) => `${+(100 * r).toFixed(2)} %`;
const minutes = (m: number) =>
  !Number.isFinite(m) ? 'never' : m < 120 ? `${m} min` : m < 48 * 60 ? `${(m / 60).toFixed(1)} h` : `${m} min`;

/** Wilson score interval (95 %) for a binomial proportion. */
export function wilson(k: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

export function healthyTable(cells: Cell[]): string {
  const lines = [
    '| true error rate | production rps | old rule: rolled back (of which silence) | new rule: false alarms [95 % CI] | new rule: a watch too quiet to judge |',
    '|---|---|---|---|---|',
  ];
  for (const c of cells) {
    const [lo, hi] = wilson(Math.round(c.newRolledBack * c.n), c.n);
    lines.push(
      `| ${rateText(c.setting.rate)} | ${c.setting.rps} | ${pct(c.oldRolledBack)} (${pct(c.oldSilence)}) | ${pct(c.newRolledBack)} [${pct(lo)}, ${pct(hi)}] | ${pct(c.newShort)} |`,
    );
  }
  return lines.join('\n');
}

export function detectionTable(cells: Cell[]): string {
  const head = RISES.map((r) => `+${100 * r} %`);
  const lines = [`| rate | rps | ${head.join(' | ')} |`, `|---|---|${head.map(() => '---').join('|')}|`];
  for (const rate of RATES)
    for (const rps of TRAFFIC_RPS) {
      const row = RISES.map((rise) => {
        const c = cells.find((x) => x.setting.rate === rate && x.setting.rps === rps && x.rise === rise)!;
        const side = (med: number, p95: number, caught: number) =>
          caught < 0.5 ? `${pct(caught)} caught` : `${minutes(med)} / ${minutes(p95)}`;
        return `old ${side(c.oldMedian, c.oldP95, c.oldRolledBack)}; new ${side(c.newMedian, c.newP95, c.newRolledBack)}`;
      });
      lines.push(`| ${rateText(rate)} | ${rps} | ${row.join(' | ')} |`);
    }
  return lines.join('\n');
}

export interface Target {
  name: string;
  met: boolean;
  detail: string;
}

export function targets(r: DecisionAccuracyResult): Target[] {
  const worst = r.healthy.reduce((a, b) => (b.newRolledBack > a.newRolledBack ? b : a));
  const canary25 = r.production.find((c) => c.setting.rate === 0.01 && c.setting.rps === 1000 && c.rise === 0.25)!;
  const gross = [...r.everywhere, ...r.production].filter((c) => c.rise === 10 && c.setting.rps >= 100);
  const slow = gross.filter((c) => !(c.newP95 <= 2));
  return [
    {
      name: `false rollbacks ≤ ${pct(FALSE_ROLLBACK_RATE)} in every setting (new rule)`,
      met: r.healthy.every((c) => c.newRolledBack <= FALSE_ROLLBACK_RATE),
      detail: `worst ${pct(worst.newRolledBack)} at ${rateText(worst.setting.rate)}, ${worst.setting.rps} rps; old rule ${pct(Math.min(...r.healthy.map((c) => c.oldRolledBack)))}–${pct(Math.max(...r.healthy.map((c) => c.oldRolledBack)))}`,
    },
    {
      name: '1 % baseline, 1,000 rps (100 rps canary): +25 % caught within 30 min of canary time (p95)',
      met: canary25.newP95 <= CANARY_MINUTES,
      detail: `regression in production only: median ${minutes(canary25.newMedian)}, p95 ${minutes(canary25.newP95)} from the canary's start`,
    },
    {
      name: '≥ 100 rps: +1,000 % caught within two samples (p95, every rate, both scenarios)',
      met: slow.length === 0,
      detail: slow.length
        ? `missed in ${slow.map((c) => `${rateText(c.setting.rate)}/${c.setting.rps} rps/${c.where} (p95 ${minutes(c.newP95)})`).join(', ')}`
        : `p95 ≤ 2 samples in all ${gross.length} cells`,
    },
  ];
}

export function render(r: DecisionAccuracyResult): string {
  const o = r.options;
  return [
    `Decision accuracy: ${o.healthyPromotions.toLocaleString('en-US')} healthy promotions per setting, ${o.regressedPromotions.toLocaleString('en-US')} per regressed cell, seed ${o.seed}; ${r.wallSeconds.toFixed(0)} s on ${o.workers} worker(s)`,
    `Promotion: ${BAKE_MINUTES / 60} h bake, ${CANARY_MINUTES} min canary, ${APPROVAL_WAIT_MINUTES} min approval wait, ${TOTAL_MINUTES - BAKE_MINUTES - CANARY_MINUTES - APPROVAL_WAIT_MINUTES} min production watch; one sample a minute.`,
    '',
    'Healthy versions (true rate = baseline): share of promotions rolled back',
    healthyTable(r.healthy),
    '',
    'Regression everywhere (staging too): time to rollback from staging readiness, median / p95',
    detectionTable(r.everywhere),
    '',
    "Regression in production only: time to rollback from the canary's start, median / p95",
    detectionTable(r.production),
    '',
    'Targets:',
    ...targets(r).map((t) => `- ${t.met ? 'met' : 'MISSED'}: ${t.name} — ${t.detail}`),
  ].join('\n');
}

if (!isMainThread && (workerData as { decisionAccuracy?: boolean } | null)?.decisionAccuracy) {
  parentPort!.on('message', (job: Job) => parentPort!.postMessage(runJob(job)));
} else if (require.main === module) {
  const quick = process.argv.includes('--quick');
  benchDecisionAccuracy(quick ? QUICK : FULL).then(
    (r) => console.log(render(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
