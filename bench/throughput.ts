// Release-train throughput on the Java time-skipping server (issue 17): an agent merges changes of
// many services at random times for simulated days; approvals arrive 0–8 h after they are asked;
// a few promotions breach in the bake. Per configuration (coalescing off/on × blast-radius scope)
// it prints merge-to-production lead times, queue depth over time, promotions run and where every
// change ended. Real promotions, real slot workflow, real timers: only the deployer is simulated.
//
//   npx tsx bench/throughput.ts [--days 30] [--services 40] [--per-day 10] [--seed N]
//                               [--configs off/promotion,on/promotion,off/production,on/production]
//                               [--max-minutes 25]
// --max-minutes caps each configuration's wall time: without coalescing the queue grows by about
// nine promotions a day, each asking the slot again every 10 minutes, so a simulated day costs more
// wall time every day; the row then says which simulated day it reached.
import { createHash } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { createAirlockWorker } from '../src/worker/worker';
import {
  approveUpdate,
  slotStateQuery,
  stateQuery,
  type PromotionState,
  type SlotState,
} from '../src/workflows/messages';
import { atRate, createRig, sendSample, timeSkippingEnv, workflowBundle } from '../test/helpers/harness';
import { signedApproval } from '../test/helpers/approver-keys';
import { Random } from './lib/poisson-sampler';
import { percentile, round } from './lib/stats';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Simulated time between looks at the fleet: approvals and breaches land within this much of their time. */
const STEP_MS = 30 * 60_000;
const APPROVERS = ['alice', 'bob'] as const;

interface Options {
  days: number;
  services: number;
  perDay: number;
  seed: number;
  breachPercent: number;
  /** Wall-time cap per configuration (minutes). */
  maxMinutes: number;
}

interface Config {
  coalesce: boolean;
  scope: 'promotion' | 'production';
}

interface Merge {
  at: number;
  service: string;
  commit: string;
  workflowId?: string;
}

export interface ThroughputResult {
  config: string;
  merges: number;
  promoted: number;
  rolledBack: number;
  pending: number;
  otherOutcomes: Record<string, number>;
  leadHours: { p50: number; p95: number; max: number } | null;
  maxQueueDepth: number;
  queueDepthByDay: Record<number, number>;
  promotionsRun: number;
  changesPerPromotion: number;
  /** Simulated days covered: less than asked when --max-minutes stopped the configuration. */
  simulatedDays: number;
  realSeconds: number;
}

const hex = (r: Random) => createHash('sha1').update(String(r.uniform())).digest('hex');

function mergesOf(o: Options): Merge[] {
  const r = new Random(o.seed);
  const merges: Merge[] = [];
  for (let day = 0; day < o.days; day++)
    for (let i = 0; i < o.perDay; i++)
      merges.push({
        at: day * DAY + Math.floor(r.uniform() * DAY),
        service: `svc-${String(Math.floor(r.uniform() * o.services)).padStart(2, '0')}`,
        commit: hex(r),
      });
  return merges.sort((a, b) => a.at - b.at);
}

function policyFor(o: Options, c: Config) {
  const services = Array.from(
    { length: o.services },
    (_, i) => `  - { name: svc-${String(i).padStart(2, '0')}, paths: ["k8s/*/svc-${String(i).padStart(2, '0')}/**"] }`,
  ).join('\n');
  return {
    // No samples are sent except the breaches, so silence is judged only after 60 days: a real
    // staging keeps reporting while a baked train waits days for the production slot, and a bound
    // the benchmark's own quiet trips would count its rollbacks as the changes' (50 h here rolled
    // back 43 of 86 ended promotions in scope production). A watch with too little traffic goes on
    // (hold) rather than rolling back a change nobody measured.
    maxSilenceMinutes: 60 * 24 * 60,
    onInsufficientEvidence: 'hold' as const,
    maxStartsPerHour: 1000,
    blastRadiusScope: c.scope,
    services,
    extra: `trains: { coalesce: ${c.coalesce} }`,
  };
}

async function runConfig(o: Options, c: Config): Promise<ThroughputResult> {
  const t0 = Date.now();
  const env = await timeSkippingEnv();
  const rig = createRig(env, { policy: policyFor(o, c) });
  const worker = await createAirlockWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: rig.taskQueue,
    deps: rig.deps,
    workflowBundle: await workflowBundle(),
    shutdownForceTime: '30 seconds',
  });
  const rand = new Random(o.seed ^ 0x5bd1e995);
  const merges = mergesOf(o);
  const lastCommit = new Map<string, string>();
  const breaching = new Set<string>();
  const approvalDue = new Map<string, number>();
  const approved = new Set<string>();
  const breached = new Set<string>();
  const depthByDay: Record<number, number> = {};
  let maxDepth = 0;
  const handles = new Map<string, WorkflowHandle>();

  const result = await worker.runUntil(async () => {
    const start = await env.currentTimeMs();
    const end = start + o.days * DAY;
    let next = 0;
    let now = start;
    for (; now < end && Date.now() - t0 < o.maxMinutes * 60_000; now = await env.currentTimeMs()) {
      for (; next < merges.length && start + merges[next].at <= now; next++) {
        const m = merges[next];
        const base = lastCommit.get(m.service);
        const h = await rig.start({
          service: m.service,
          commit: m.commit,
          version: m.commit.slice(0, 12),
          mergedAt: new Date(now).toISOString(),
          ...(base ? { baseCommit: base } : {}),
        });
        lastCommit.set(m.service, m.commit);
        m.workflowId = h.workflowId;
        handles.set(h.workflowId, h);
        if (rand.uniform() * 100 < o.breachPercent) breaching.add(h.workflowId);
      }
      const slots = await rig.client.workflow
        .getHandle(rig.slotWorkflowId)
        .query(slotStateQuery)
        .catch((): SlotState | undefined => undefined);
      if (slots) {
        const depth = slots.queue.length;
        maxDepth = Math.max(maxDepth, depth);
        const day = Math.floor((now - start) / DAY) + 1;
        depthByDay[day] = depth;
        for (const holder of slots.holders) {
          const h = handles.get(holder.workflowId);
          if (!h) continue;
          const s = await h.query(stateQuery).catch(() => undefined);
          if (!s) continue;
          // A breaching change's carrier (the train inherits its commits) breaches once in its bake.
          const breaches = breaching.has(h.workflowId) || (s.train ?? []).some((t) => breaching.has(t.workflowId));
          if (breaches && s.stage === 'baking' && !breached.has(h.workflowId)) {
            breached.add(h.workflowId);
            await sendSample(env, h, { environment: 'staging', ...atRate(0.5, 100_000) });
          }
          if (s.stage === 'awaiting_approval' && !approved.has(h.workflowId)) {
            const due = approvalDue.get(h.workflowId) ?? now + Math.floor(rand.uniform() * 8 * HOUR);
            approvalDue.set(h.workflowId, due);
            if (due <= now) {
              approved.add(h.workflowId);
              for (const who of APPROVERS)
                await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, who)] }).catch(() => {});
            }
          }
        }
      }
      await env.sleep(STEP_MS);
    }
    return summarize(o, c, merges, handles, maxDepth, depthByDay, t0, (now - start) / DAY);
  });
  await env.teardown();
  return result;
}

async function summarize(
  o: Options,
  c: Config,
  merges: Merge[],
  handles: Map<string, WorkflowHandle>,
  maxQueueDepth: number,
  queueDepthByDay: Record<number, number>,
  t0: number,
  simulatedDays: number,
): Promise<ThroughputResult> {
  const states = new Map<string, PromotionState>();
  for (const [id, h] of handles) {
    const s = await h.query(stateQuery).catch(() => undefined);
    if (s) states.set(id, s);
  }
  /** Follows superseded promotions to the one that carries them. */
  const carrier = (id: string): PromotionState | undefined => {
    let s = states.get(id);
    for (let i = 0; s?.supersededBy && i < 1000; i++) s = states.get(s.supersededBy);
    return s;
  };
  const lead: number[] = [];
  const tally = { promoted: 0, rolledBack: 0, pending: 0 };
  const other: Record<string, number> = {};
  for (const m of merges) {
    if (!m.workflowId) continue;
    const s = carrier(m.workflowId);
    const outcome = s?.outcome;
    if (outcome === 'promoted') {
      tally.promoted++;
      const rollout = s!.deploys?.find((d) => d.activity === 'promoteCanary')?.at ?? s!.endedAt!;
      const merged = states.get(m.workflowId)!.change.mergedAt!;
      lead.push((Date.parse(rollout) - Date.parse(merged)) / HOUR);
    } else if (outcome === 'rolled_back') tally.rolledBack++;
    else if (!outcome) tally.pending++;
    else other[outcome] = (other[outcome] ?? 0) + 1;
  }
  const started = [...states.values()];
  const run = started.filter((s) => s.outcome !== 'superseded' && (s.deployed.length || s.outcome || s.stagingReadyAt));
  const ended = started.filter((s) => s.outcome && s.outcome !== 'superseded');
  const carried = merges.filter(
    (m) => m.workflowId && carrier(m.workflowId)?.outcome && carrier(m.workflowId)?.outcome !== 'superseded',
  ).length;
  return {
    config: `coalesce ${c.coalesce ? 'on' : 'off'}, scope ${c.scope}`,
    merges: merges.filter((m) => m.workflowId).length,
    ...tally,
    otherOutcomes: other,
    leadHours: lead.length
      ? { p50: round(percentile(lead, 50)), p95: round(percentile(lead, 95)), max: round(Math.max(...lead)) }
      : null,
    maxQueueDepth,
    queueDepthByDay,
    promotionsRun: run.length,
    changesPerPromotion: ended.length ? round(carried / ended.length, 2) : 0,
    simulatedDays: round(simulatedDays, 1),
    realSeconds: round((Date.now() - t0) / 1000),
  };
}

function parseArgs(argv: string[]): { o: Options; configs: Config[] } {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, dflt: number) => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`--${name}: must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const configs = (get('configs') ?? 'off/promotion,on/promotion,off/production,on/production').split(',').map((s) => {
    const [co, scope] = s.split('/');
    if ((co !== 'on' && co !== 'off') || (scope !== 'promotion' && scope !== 'production'))
      throw new Error(`--configs: "${s}" is not on|off/promotion|production`);
    return { coalesce: co === 'on', scope } as Config;
  });
  return {
    o: {
      days: num('days', 30),
      services: num('services', 40),
      perDay: num('per-day', 10),
      seed: num('seed', 20261128),
      breachPercent: num('breach-percent', 5),
      maxMinutes: num('max-minutes', 25),
    },
    configs,
  };
}

export function renderRow(r: ThroughputResult, days: number): string {
  const lead = r.leadHours ? `${r.leadHours.p50} / ${r.leadHours.p95}` : '-';
  const depths = [10, 20, 30]
    .filter((d) => d <= days)
    .map((d) => r.queueDepthByDay[d] ?? '-')
    .join(' / ');
  const reached = r.simulatedDays < days ? ` (stopped at day ${r.simulatedDays} by --max-minutes)` : '';
  return `| ${r.config}${reached} | ${lead} | ${r.maxQueueDepth} (${depths}) | ${r.promotionsRun} | ${r.changesPerPromotion} | ${r.promoted} / ${r.rolledBack} / ${r.pending} of ${r.merges} | ${r.realSeconds} |`;
}

export async function throughput(argv: string[]): Promise<ThroughputResult[]> {
  const { o, configs } = parseArgs(argv);
  console.log(
    `throughput: ${o.services} services, ${o.perDay} merges a day for ${o.days} days, ${o.breachPercent} % breaching, approvals 0-8 h after asked, seed ${o.seed} (--seed repeats it)`,
  );
  console.log(
    '| configuration | lead time merge → production, h (median / p95) | max queue depth (day 10 / 20 / 30) | promotions run | changes per promotion | changes promoted / rolled back / pending | real s |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const results: ThroughputResult[] = [];
  for (const c of configs) {
    const r = await runConfig(o, c);
    results.push(r);
    console.log(renderRow(r, o.days));
  }
  console.log(JSON.stringify(results));
  return results;
}

if (process.argv[1]?.endsWith('throughput.ts')) {
  throughput(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
