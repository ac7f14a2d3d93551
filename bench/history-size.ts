// 4. History size of one full promotion on the time-skipping server: the real 24 h bake, a
// 30-minute canary, two signed approvals, a 30-minute production watch, and an error-rate sample
// signalled every `sampleMinutes` minutes of workflow time, the way a monitoring bridge would.
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { MetricsSource } from '../src/integrations/metrics-source';
import { bindingOf } from '../src/approvals/decision-binding';
import { signedRequest } from '../src/approvals/signed-request';
import { startPromotion } from '../src/client/promotion-client';
import { approveUpdate, errorRateSignal, stateQuery, type PromotionState } from '../src/workflows/messages';
import { testSecretKey } from '../test/helpers/approver-keys';
import { eventCounts, fetchHistory, historyBytes } from './lib/history';
import { runHistories } from '../test/helpers/runs';
import { serviceName } from './lib/policy';
import { airlockRig } from './lib/rig';

export interface HistorySizeResult {
  sampleMinutes: number;
  samplesSent: number;
  outcome: string;
  /** Runs of the promotion (continue-as-new); events and bytes are of all of them together. */
  runs: number;
  events: number;
  bytes: number;
  eventsByType: Record<string, number>;
}

export async function benchHistorySize(
  env: TestWorkflowEnvironment,
  sampleMinutes: number,
): Promise<HistorySizeResult> {
  const rig = await airlockRig(env, {
    services: 1,
    bakeHours: 24,
    canaryMinutes: 30,
    productionWatchMinutes: 30,
    maxSilenceMinutes: Math.max(10, 2 * sampleMinutes),
    maxServicesInFlight: 1,
    maxStartsPerHour: 5,
  });
  return rig.worker.runUntil(async () => {
    const change = { service: serviceName(0), commit: 'b'.repeat(40), author: 'airlock-agent[bot]', version: 'v2' };
    const { workflowId } = await startPromotion(env.client, change, {
      taskQueue: rig.taskQueue,
      slotWorkflowId: rig.slotWorkflowId,
    });
    const h = env.client.workflow.getHandle(workflowId);
    let samples = 0;
    let s: PromotionState = await h.query(stateQuery);
    let approved = false;
    // Mid-bake the state is read only every QUERY_EVERY steps: a query costs a worker round trip.
    const QUERY_EVERY = Math.max(1, Math.round(60 / sampleMinutes));
    let now = await env.currentTimeMs();
    for (let step = 0; s.stage !== 'ended'; step++) {
      if (process.env.AIRLOCK_BENCH_VERBOSE && step % 100 === 0)
        console.error(`history: step ${step}, ${s.stage}, ${samples} samples`);
      if (step > 20_000) throw new Error(`history-size: promotion still ${s.stage} after ${step} steps`);
      if (s.deployed.length) {
        const environment = s.deployed.includes('production') ? 'production' : 'staging';
        await h.signal(errorRateSignal, {
          environment,
          // 1 % of 10,000 requests beside a 1 % baseline: healthy, and traffic enough for every watch.
          ...{ errors: 100, requests: 10_000, baselineErrors: 1_000, baselineRequests: 100_000 },
          observedAt: new Date(now).toISOString(),
        });
        samples++;
      }
      if (s.stage === 'awaiting_approval' && !approved) {
        for (const approver of ['alice', 'bob']) {
          await h.executeUpdate(approveUpdate, {
            args: [
              signedRequest('approve', {
                workflowId,
                approver,
                secretKey: testSecretKey(approver),
                now: await env.currentTimeMs(),
                text: 'bench',
                ...(bindingOf(s) ? { binding: bindingOf(s) } : {}),
              }),
            ],
          });
        }
        approved = true;
      }
      await env.sleep(`${sampleMinutes} minutes`);
      now += sampleMinutes * 60_000;
      // Mid-bake the stage cannot change before bakeEndsAt except by a breach, which these samples never are.
      const midBake =
        s.stage === 'baking' && !!s.bakeEndsAt && now < Date.parse(s.bakeEndsAt) - 2 * sampleMinutes * 60_000;
      if (!midBake || step % QUERY_EVERY === 0) {
        s = await h.query(stateQuery);
        now = await env.currentTimeMs();
      }
    }
    // Every run: a promotion this busy continues as new (the server suggests it at 4,096 events).
    const runs = await runHistories(env.client, workflowId);
    const byType: Record<string, number> = {};
    for (const r of runs) for (const [k, n] of Object.entries(eventCounts(r.history))) byType[k] = (byType[k] ?? 0) + n;
    return {
      sampleMinutes,
      samplesSent: samples,
      outcome: s.outcome ?? '?',
      runs: runs.length,
      events: runs.reduce((n, r) => n + r.events, 0),
      bytes: runs.reduce((n, r) => n + historyBytes(r.history), 0),
      eventsByType: byType,
    };
  });
}

export interface WatchHistoryResult {
  intervalSeconds: number;
  bakeSeconds: number;
  polls: number;
  outcome: string;
  events: number;
  bytes: number;
  eventsByType: Record<string, number>;
}

/**
 * 4b. The same full promotion with the watch activity polling a metrics source (a fake that always
 * answers a healthy sample) every `intervalSeconds`, on the dev server in real time: windows are
 * short, and two poll rates side by side show whether the history depends on the number of polls.
 */
export async function benchHistoryWatch(
  env: TestWorkflowEnvironment,
  o: { intervalSeconds: number; bakeSeconds: number; windowMinutes: number; service: number },
): Promise<WatchHistoryResult> {
  let polls = 0;
  const source: MetricsSource = {
    name: 'bench fake source',
    async read(q) {
      polls++;
      return {
        kind: 'sample',
        sample: {
          environment: q.environment,
          rate: 0.01,
          baseline: 0.01,
          requestCount: 10_000,
          ...{ errors: 100, requests: 10_000, baselineErrors: 1_000, baselineRequests: 100_000 },
          observedAt: new Date(q.at).toISOString(),
        },
      };
    },
  };
  const rig = await airlockRig(
    env,
    {
      services: o.service + 1,
      bakeHours: o.bakeSeconds / 3600,
      canaryMinutes: o.windowMinutes,
      productionWatchMinutes: o.windowMinutes,
      maxSilenceMinutes: Math.max(0.5, (3 * o.intervalSeconds) / 60),
      maxServicesInFlight: 10,
      maxStartsPerHour: 100,
      monitoring: {
        intervalSeconds: o.intervalSeconds,
        prometheus: {
          url: 'http://127.0.0.1:9',
          countQueries: {
            errors: 'bench_errors{service="{{service}}"}',
            requests: 'bench_requests{service="{{service}}"}',
            baselineErrors: 'bench_baseline_errors',
            baselineRequests: 'bench_baseline_requests',
          },
        },
      },
    },
    { metrics: () => source },
  );
  return rig.worker.runUntil(async () => {
    const change = {
      service: serviceName(o.service),
      commit: randomBytes(20).toString('hex'),
      author: 'airlock-agent[bot]',
      version: 'v2',
    };
    const { workflowId } = await startPromotion(env.client, change, {
      taskQueue: rig.taskQueue,
      slotWorkflowId: rig.slotWorkflowId,
    });
    const h = env.client.workflow.getHandle(workflowId);
    const deadline = Date.now() + (o.bakeSeconds + 4 * 60 * o.windowMinutes + 180) * 1000;
    for (let s = await h.query(stateQuery); s.stage !== 'awaiting_approval'; s = await h.query(stateQuery)) {
      if (s.stage === 'ended')
        throw new Error(`history-watch: ended ${s.outcome} before approval: ${JSON.stringify(s.interruption)}`);
      if (Date.now() > deadline) throw new Error(`history-watch: still ${s.stage}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const approver of ['alice', 'bob']) {
      await h.executeUpdate(approveUpdate, {
        args: [
          signedRequest('approve', {
            workflowId,
            approver,
            secretKey: testSecretKey(approver),
            now: Date.now(),
            text: 'bench',
            binding: bindingOf(await h.query(stateQuery)),
          }),
        ],
      });
    }
    const result = (await h.result()) as { outcome: string };
    const hist = await fetchHistory(env.client, workflowId);
    return {
      intervalSeconds: o.intervalSeconds,
      bakeSeconds: o.bakeSeconds,
      polls,
      outcome: result.outcome,
      events: hist.events?.length ?? 0,
      bytes: historyBytes(hist),
      eventsByType: eventCounts(hist),
    };
  });
}
