// 5. Scale: N promotions in flight at once on one worker (its own process), slot limit raised for
// the run, next to N no-op workflows on a fresh worker of the same kind: worker RSS, start
// throughput, and the p99 wait of a workflow task between Scheduled and Started in history.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startPromotion } from '../src/client/promotion-client';
import { activityThenWait } from './floor-workflows';
import { fetchHistory, workflowTaskLatencies, workflowTaskRunTimes } from './lib/history';
import { benchPolicyYaml, serviceName } from './lib/policy';
import { airlockBundle, floorBundle } from './lib/rig';
import { distribution, type Distribution } from './lib/stats';
import type { ScaleWorkerConfig, ScaleWorkerMessage } from './scale-worker';

export interface ScaleSide {
  workflows: number;
  /** Client start calls per second (50 concurrent callers). */
  startsPerSecond: number;
  /** N ÷ time from the first start call to the last workflow's first activity (staging deploy / no-op). */
  inFlightPerSecond: number;
  secondsToAllInFlight: number;
  /** Worker process RSS once all are in flight, and its peak, MB. */
  rssMb: number;
  peakRssMb: number;
  heapUsedMb: number;
  idleRssMb: number;
  workflowTaskWaitMs: Distribution;
  /** Started → Completed of each workflow's first task (module load + first run) and of all tasks. */
  firstWorkflowTaskMs: Distribution;
  workflowTaskRunMs: Distribution;
}

export interface ScaleResult {
  n: number;
  promotions: ScaleSide;
  floor: ScaleSide;
}

const MB = 1024 * 1024;

async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

function startWorker(config: ScaleWorkerConfig): Promise<{
  child: ChildProcess;
  last: () => Extract<ScaleWorkerMessage, { type: 'progress' }>;
  peakRss: () => number;
}> {
  const child = fork(join(__dirname, 'scale-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AIRLOCK_BENCH_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let last: Extract<ScaleWorkerMessage, { type: 'progress' }> = { type: 'progress', rss: 0, heapUsed: 0, started: 0 };
  let peak = 0;
  return new Promise((resolve, reject) => {
    child.on('message', (m: ScaleWorkerMessage) => {
      if (m.type === 'ready') resolve({ child, last: () => last, peakRss: () => peak });
      else {
        last = m;
        peak = Math.max(peak, m.rss);
      }
    });
    child.once('exit', (code) => reject(new Error(`scale worker exited with ${code} before it was ready`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`scale: ${what} not reached within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function side(
  env: TestWorkflowEnvironment,
  n: number,
  config: Omit<ScaleWorkerConfig, 'address' | 'namespace' | 'taskQueue'>,
  start: (i: number, taskQueue: string) => Promise<string>,
): Promise<ScaleSide> {
  const taskQueue = `scale-${config.kind}-${randomUUID()}`;
  const w = await startWorker({ ...config, address: env.address, namespace: env.namespace ?? 'default', taskQueue });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = w.last().rss;
    const ids: string[] = new Array(n);
    const t0 = Date.now();
    await pool(n, 50, async (i) => void (ids[i] = await start(i, taskQueue)));
    const startsDone = Date.now();
    await waitFor(() => w.last().started >= n, `${n} ${config.kind} workflows in flight`, 600_000);
    const allInFlight = Date.now();
    // Let the last reports and slot messages settle before reading memory.
    await new Promise((r) => setTimeout(r, 2000));
    const settled = w.last();
    const waits: number[] = [];
    const firsts: number[] = [];
    const runs: number[] = [];
    await pool(n, 20, async (i) => {
      const h = await fetchHistory(env.client, ids[i]);
      waits.push(...workflowTaskLatencies(h));
      const r = workflowTaskRunTimes(h);
      if (r.length) firsts.push(r[0]);
      runs.push(...r);
    });
    return {
      workflows: n,
      startsPerSecond: n / ((startsDone - t0) / 1000),
      inFlightPerSecond: n / ((allInFlight - t0) / 1000),
      secondsToAllInFlight: (allInFlight - t0) / 1000,
      rssMb: settled.rss / MB,
      peakRssMb: w.peakRss() / MB,
      heapUsedMb: settled.heapUsed / MB,
      idleRssMb: idleRss / MB,
      workflowTaskWaitMs: distribution(waits),
      firstWorkflowTaskMs: distribution(firsts),
      workflowTaskRunMs: distribution(runs),
    };
  } finally {
    await stopWorker(w.child);
  }
}

export async function benchScale(env: TestWorkflowEnvironment, n: number): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-scale-'));
  try {
    const airlockCode = join(dir, 'airlock-workflows.js');
    const floorCode = join(dir, 'floor-workflows.js');
    writeFileSync(airlockCode, (await airlockBundle()).code);
    writeFileSync(floorCode, (await floorBundle()).code);
    const policyText = benchPolicyYaml({
      services: n,
      bakeHours: 1,
      canaryMinutes: 30,
      productionWatchMinutes: 30,
      maxSilenceMinutes: 120,
      maxServicesInFlight: n + 10,
      maxStartsPerHour: 1_000_000,
    });
    const slotWorkflowId = `slot-${randomUUID()}`;
    const promotions = await side(
      env,
      n,
      { kind: 'promotion', bundlePath: airlockCode, policyText },
      async (i, taskQueue) => {
        const commit = randomBytes(20).toString('hex');
        const change = {
          service: serviceName(i),
          commit,
          author: 'airlock-agent[bot]',
          version: `v-${commit.slice(0, 8)}`,
        };
        return (await startPromotion(env.client, change, { taskQueue, slotWorkflowId })).workflowId;
      },
    );
    const floor = await side(env, n, { kind: 'floor', bundlePath: floorCode }, async (i, taskQueue) => {
      const h = await env.client.workflow.start(activityThenWait, {
        workflowId: `floor-scale-${i}-${randomUUID()}`,
        taskQueue,
      });
      return h.workflowId;
    });
    return { n, promotions, floor };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
