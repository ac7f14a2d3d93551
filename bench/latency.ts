// Latency benchmarks on the dev server, each sample of a promotion taken next to a sample of its
// floor (interleaved, alternating which goes first) so load from anything else hits both alike.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { bindingOf } from '../src/approvals/decision-binding';
import { signedRequest } from '../src/approvals/signed-request';
import { parsePolicy } from '../src/policy/config/load';
import { startPromotion } from '../src/client/promotion-client';
import { createServer } from '../src/server/app';
import {
  approveUpdate,
  errorRateSignal,
  promotionWorkflowId,
  stateQuery,
  type Change,
  type Stage,
} from '../src/workflows/messages';
import { testSecretKey } from '../test/helpers/approver-keys';
import { deliveryHeaders } from '../test/fakes/github-fake';
import { pushOf } from '../test/fakes/github-payloads';
import { EXAMPLE_REPOSITORY, UNLIMITED_RATES } from '../test/server/server-rig';
import {
  activityOnStart,
  approveFloorUpdate,
  goSignal,
  signalThenActivity,
  updatesThenActivity,
} from './floor-workflows';
import { activityStartedTime, fetchHistory, signalTime, stepsBefore, waitForHistoryFigure } from './lib/history';
import { serviceName, servicePath, type BenchPolicy } from './lib/policy';
import { airlockRig, floorWorker, withWorkers, type AirlockRig } from './lib/rig';
import { distribution, type Distribution } from './lib/stats';

export interface LatencyResult {
  samples: number;
  measuredMs: Distribution;
  floorMs: Distribution;
  method: string;
  /** Merge only: what the promotion does on the path, from its own history (the slot workflow's tasks come on top). */
  path?: { workflowTasks: number; activities: string[] };
}

const sha = () => randomBytes(20).toString('hex');

function policyFor(n: number, o: Partial<BenchPolicy> = {}): BenchPolicy {
  return {
    services: n,
    bakeHours: 1,
    canaryMinutes: 30,
    productionWatchMinutes: 30,
    maxSilenceMinutes: 120,
    maxServicesInFlight: n + 10,
    maxStartsPerHour: 1_000_000,
    ...o,
  };
}

function change(i: number, commit = sha()): Change {
  return { service: serviceName(i), commit, author: 'airlock-agent[bot]', version: `v-${commit.slice(0, 8)}` };
}

/** Runs fn over 0..n-1 with at most `width` in flight. */
async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

async function untilStage(h: WorkflowHandle, stage: Stage, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await h.query(stateQuery);
    if (s.stage === stage) return;
    if (s.stage === 'ended') throw new Error(`${h.workflowId}: ended ${s.outcome} before reaching ${stage}`);
    if (Date.now() > deadline)
      throw new Error(`${h.workflowId}: still ${s.stage} after ${timeoutMs} ms, waiting for ${stage}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startPromotions(env: TestWorkflowEnvironment, rig: AirlockRig, n: number): Promise<WorkflowHandle[]> {
  return pool(n, 20, async (i) => {
    const { workflowId } = await startPromotion(env.client, change(i), {
      taskQueue: rig.taskQueue,
      slotWorkflowId: rig.slotWorkflowId,
    });
    return env.client.workflow.getHandle(workflowId);
  });
}

/** Pairs run first and not counted: the first workflows of a worker pay for its caches and JIT. */
export const WARM_UP = 5;

/** Interleaves promotion and floor samples, alternating which goes first; the first WARM_UP pairs are not counted. */
async function interleaved(
  total: number,
  measured: (i: number) => Promise<number>,
  floor: (i: number) => Promise<number>,
) {
  const m: number[] = [];
  const f: number[] = [];
  for (let i = 0; i < total; i++) {
    const pair = i % 2 === 0 ? [await measured(i), await floor(i)] : [await floor(i), await measured(i)].reverse();
    if (i < WARM_UP) continue;
    m.push(pair[0]);
    f.push(pair[1]);
  }
  return { measuredMs: distribution(m), floorMs: distribution(f) };
}

/** 1. The breaching errorRate signal → the first restore activity started (history event times). */
export async function benchBreach(env: TestWorkflowEnvironment, samples: number): Promise<LatencyResult> {
  const n = samples + WARM_UP;
  const rig = await airlockRig(env, policyFor(n));
  const floor = await floorWorker(env);
  return withWorkers([rig.worker, floor.worker], async () => {
    const promotions = await startPromotions(env, rig, n);
    await pool(n, 20, (i) => untilStage(promotions[i], 'baking'));
    const floors = await pool(n, 20, (i) =>
      env.client.workflow.start(signalThenActivity, {
        workflowId: `floor-breach-${i}-${sha().slice(0, 8)}`,
        taskQueue: floor.taskQueue,
      }),
    );
    const r = await interleaved(
      n,
      async (i) => {
        const h = promotions[i];
        await h.signal(errorRateSignal, {
          environment: 'staging',
          // An outage: every request failing beside a 1 % baseline, breached on this one sample.
          ...{ errors: 1_000, requests: 1_000, baselineErrors: 10, baselineRequests: 1_000 },
          observedAt: new Date().toISOString(),
        });
        await h.result();
        const hist = await fetchHistory(env.client, h.workflowId);
        return activityStartedTime(hist, 'restoreEnvironment')! - signalTime(hist, 'errorRate')!;
      },
      async (i) => {
        const h = floors[i];
        await h.signal(goSignal);
        await h.result();
        const hist = await fetchHistory(env.client, h.workflowId);
        return activityStartedTime(hist, 'noop')! - signalTime(hist, 'go')!;
      },
    );
    return {
      samples,
      ...r,
      method:
        'history: WorkflowExecutionSignaled(errorRate) → ActivityTaskStarted(restoreEnvironment); floor: Signaled(go) → ActivityTaskStarted(noop)',
    };
  });
}

const pushBody = (commit: string, files: string[]): string => JSON.stringify(pushOf(commit, files));

const SECRET = 'bench-webhook-secret-0123456789';
const headers = (body: string): Record<string, string> => deliveryHeaders('push', SECRET, body);

/** 2. A signed push webhook POSTed to the real server → the staging deploy activity started. */
export async function benchMerge(env: TestWorkflowEnvironment, samples: number): Promise<LatencyResult> {
  const n = samples + WARM_UP;
  const rig = await airlockRig(env, policyFor(n));
  const floor = await floorWorker(env);
  const app = createServer(
    {
      host: '127.0.0.1',
      port: 0,
      bodyLimit: 1024 * 1024,
      rateLimits: UNLIMITED_RATES,
      github: { webhookSecret: SECRET, repositories: [EXAMPLE_REPOSITORY] },
    },
    {
      temporal: env.client,
      taskQueue: rig.taskQueue,
      slotWorkflowId: rig.slotWorkflowId,
      loadPolicy: () => parsePolicy(rig.policyText, 'bench-policy').policy,
    },
  );
  // The floor route does what any webhook receiver must: verify the same signature over the raw
  // body with the same library, parse, start a workflow.
  const webhooks = import('@octokit/webhooks').then((m) => new m.Webhooks({ secret: SECRET }));
  app.post('/bench/floor', async (req, reply) => {
    const raw = req.body as string;
    if (!(await (await webhooks).verify(raw, String(req.headers['x-hub-signature-256']))))
      return reply.code(401).send({ error: 'signature' });
    const body = JSON.parse(raw) as { after: string };
    const h = await env.client.workflow.start(activityOnStart, {
      workflowId: `floor-merge-${body.after}`,
      taskQueue: floor.taskQueue,
    });
    return reply.code(201).send({ workflowId: h.workflowId });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const post = async (path: string, body: string) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body, headers: headers(body) });
    const json = (await res.json()) as { workflowId: string };
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json.workflowId;
  };
  let path: LatencyResult['path'];
  try {
    return await withWorkers([rig.worker, floor.worker], async () => {
      const r = await interleaved(
        n,
        async (i) => {
          const commit = sha();
          const body = pushBody(commit, [servicePath(i)]);
          const t0 = Date.now();
          const workflowId = await post('/webhooks/github', body);
          if (workflowId !== promotionWorkflowId({ service: serviceName(i), commit }))
            throw new Error(`unexpected workflow ${workflowId}`);
          await rig.deployer.started('deploy', serviceName(i));
          const t1 = await waitForHistoryFigure(env.client, workflowId, (h) =>
            activityStartedTime(h, 'deployToEnvironment'),
          );
          path ??= stepsBefore(await fetchHistory(env.client, workflowId), 'deployToEnvironment');
          return t1 - t0;
        },
        async (i) => {
          const body = pushBody(sha(), [servicePath(i)]);
          const t0 = Date.now();
          const workflowId = await post('/bench/floor', body);
          await env.client.workflow.getHandle(workflowId).result();
          return activityStartedTime(await fetchHistory(env.client, workflowId), 'noop')! - t0;
        },
      );
      return {
        samples,
        ...r,
        path,
        method:
          'signed push POSTed (client clock) → ActivityTaskStarted(deployToEnvironment staging); floor: same POST to a route that verifies, parses and starts a one-activity workflow → ActivityTaskStarted(noop)',
      };
    });
  } finally {
    await app.close();
  }
}

/** 3. The second signed approval (Update sent) → the production rollout activity started. */
export async function benchApproval(env: TestWorkflowEnvironment, samples: number): Promise<LatencyResult> {
  const n = samples + WARM_UP;
  // Short, labeled bake and canary so promotions reach the approval gate within seconds.
  const rig = await airlockRig(
    env,
    policyFor(n, { bakeHours: 0.0005, canaryMinutes: 0.02, productionWatchMinutes: 0.01 }),
  );
  const floor = await floorWorker(env);
  const approval = async (h: WorkflowHandle, approver: string) =>
    signedRequest('approve', {
      workflowId: h.workflowId,
      approver,
      secretKey: testSecretKey(approver),
      now: Date.now(),
      text: 'bench',
      binding: bindingOf(await h.query(stateQuery)), // what `airlock approve` signs for
    });
  return withWorkers([rig.worker, floor.worker], async () => {
    const promotions = await startPromotions(env, rig, n);
    await pool(n, 20, (i) => untilStage(promotions[i], 'awaiting_approval'));
    const floors = await pool(n, 20, (i) =>
      env.client.workflow.start(updatesThenActivity, {
        args: [2],
        workflowId: `floor-approval-${i}-${sha().slice(0, 8)}`,
        taskQueue: floor.taskQueue,
      }),
    );
    const r = await interleaved(
      n,
      async (i) => {
        const h = promotions[i];
        await h.executeUpdate(approveUpdate, { args: [await approval(h, 'alice')] });
        const second = await approval(h, 'bob');
        const t0 = Date.now();
        await h.executeUpdate(approveUpdate, { args: [second] });
        await rig.deployer.started('promote', serviceName(i));
        return (
          (await waitForHistoryFigure(env.client, h.workflowId, (x) => activityStartedTime(x, 'promoteCanary'))) - t0
        );
      },
      async (i) => {
        const h = floors[i];
        await h.executeUpdate(approveFloorUpdate, { args: [{ approver: 'alice' }] });
        const t0 = Date.now();
        await h.executeUpdate(approveFloorUpdate, { args: [{ approver: 'bob' }] });
        await h.result();
        return activityStartedTime(await fetchHistory(env.client, h.workflowId), 'noop')! - t0;
      },
    );
    return {
      samples,
      ...r,
      method:
        'second approve Update sent (client clock) → ActivityTaskStarted(promoteCanary); floor: second Update to a workflow waiting for two → ActivityTaskStarted(noop)',
    };
  });
}
