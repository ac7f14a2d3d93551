// Bounded history (issue 12): one promotion on the time-skipping server that receives `samples`
// firing alerts and `decisions` refused decisions spread over `days` of workflow time (the real
// 24 h bake, a 30-minute canary, an approval wait of almost three days, a 30-minute production
// watch), then two signed approvals. Every alert goes through the real alert route, one
// Alertmanager request each (the worst case: one signal per alert); each is about the stable
// version, so the promotion records it and goes on (an alert about the change would roll back). Figures: how many runs the
// promotion took (continue-as-new), the largest run, all events together, how it ended, wall time.
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import { bindingOf } from '../src/approvals/decision-binding';
import { signedRequest } from '../src/approvals/signed-request';
import { startPromotion } from '../src/client/promotion-client';
import { parsePolicy } from '../src/policy/config/load';
import { createServer } from '../src/server/app';
import { UNLIMITED_RATES } from '../test/server/server-rig';
import { approveUpdate, stateQuery, type PromotionState } from '../src/workflows/messages';
import { testSecretKey } from '../test/helpers/approver-keys';
import { runHistories } from '../test/helpers/runs';
import { serviceName } from './lib/policy';
import { airlockRig } from './lib/rig';

export interface HistoryBoundOptions {
  samples: number;
  decisions: number;
  /** At least 2: the bake is 24 h and the approval comes on the last day (timeout 72 h: at most 4). */
  days: number;
  /** Steps of workflow time the days are cut into; samples and decisions are spread evenly over them. */
  steps: number;
  /** PromotionInput.historyLimit; undefined: the workflow's default. */
  historyLimit?: number;
}

export interface HistoryBoundResult extends HistoryBoundOptions {
  /** Alerts the route turned into a signal (the rest arrived after the promotion had ended). */
  samplesSignalled: number;
  decisionsSent: number;
  runs: number;
  eventsPerRun: number[];
  maxEventsPerRun: number;
  totalEvents: number;
  outcome: string;
  /** Workflow time from start to end, hours. */
  workflowHours: number;
  wallSeconds: number;
}

const HOUR_MS = 3600_000;
const WATCH_MINUTES = 30;
const TOKEN = 'bench-alert-token';

/**
 * The Temporal client the route gets. The time-skipping server has no visibility queries, so the
 * route's `list` is answered the way visibility would: the promotion while its current run is running.
 */
function routeClient(client: Client, workflowId: string): Client {
  async function* list() {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name === 'RUNNING') yield d;
  }
  const workflow = new Proxy(client.workflow, {
    get: (target, p) => (p === 'list' ? list : Reflect.get(target, p, target)),
  });
  return new Proxy(client, { get: (target, p) => (p === 'workflow' ? workflow : Reflect.get(target, p, target)) });
}

/** One Alertmanager delivery of one firing ErrorRateHigh alert, about the stable version v1. */
function alert(service: string, environment: string, startsAt: number) {
  return JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'airlock',
    groupLabels: { alertname: 'ErrorRateHigh' },
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'ErrorRateHigh', service, environment, version: 'v1' },
        annotations: { summary: 'error rate above 5 % on v1' },
        startsAt: new Date(startsAt).toISOString(),
      },
    ],
  });
}

/** The refused decisions, in turn: unsigned, the author, a stranger's reject, a forged update. */
async function badDecision(client: Client, workflowId: string, i: number, now: number): Promise<void> {
  const h = client.workflow.getHandle(workflowId);
  switch (i % 4) {
    case 0:
      return h.signal('approve', { approver: 'alice', via: 'signal', comment: `unsigned #${i}` });
    case 1:
      return h.signal('approve', { approver: 'airlock-agent[bot]', via: 'signal' });
    case 2:
      return h.signal('reject', { approver: `mallory-${i}`, reason: 'let me in' });
    default: {
      // bob's name, someone else's key: refused by the workflow, whatever the stage.
      const forged = signedRequest('approve', {
        workflowId,
        approver: 'bob',
        secretKey: testSecretKey('mallory'),
        now,
      });
      await h.executeUpdate(approveUpdate, { args: [forged] }).catch(() => undefined);
    }
  }
}

const share = (total: number, steps: number, i: number) =>
  Math.floor(((i + 1) * total) / steps) - Math.floor((i * total) / steps);

export async function benchHistoryBound(
  env: TestWorkflowEnvironment,
  o: HistoryBoundOptions,
): Promise<HistoryBoundResult> {
  const wallStart = Date.now();
  const stepMs = (o.days * 24 * HOUR_MS) / o.steps;
  const rig = await airlockRig(env, {
    services: 1,
    bakeHours: 24,
    canaryMinutes: 30,
    productionWatchMinutes: WATCH_MINUTES,
    // No error-rate samples here (the alerts are verdicts, not evidence): silence must not end it.
    maxSilenceMinutes: o.days * 24 * 60 + 60,
    maxServicesInFlight: 1,
    maxStartsPerHour: 5,
  });
  const service = serviceName(0);
  const policy = parsePolicy(rig.policyText, 'bench-policy').policy;
  return rig.worker.runUntil(async () => {
    const change = { service, commit: randomBytes(20).toString('hex'), author: 'airlock-agent[bot]', version: 'v2' };
    const { workflowId } = await startPromotion(env.client, change, {
      taskQueue: rig.taskQueue,
      slotWorkflowId: rig.slotWorkflowId,
      ...(o.historyLimit ? { historyLimit: o.historyLimit } : {}),
    });
    const app = createServer(
      {
        host: '127.0.0.1',
        port: 0,
        bodyLimit: 1024 * 1024,
        rateLimits: UNLIMITED_RATES,
        alerts: { alertmanagerToken: TOKEN },
      },
      { temporal: routeClient(env.client, workflowId), taskQueue: rig.taskQueue, loadPolicy: () => policy },
    );
    const h = env.client.workflow.getHandle(workflowId);
    const startedAt = await env.currentTimeMs();
    // Approved so that the production watch ends just after the last day: every alert and decision
    // arrives while the promotion runs.
    const approveAt = startedAt + o.days * 24 * HOUR_MS - WATCH_MINUTES * 60_000;
    let samplesSignalled = 0;
    let decisionsSent = 0;
    let approved = false;
    let s: PromotionState = await h.query(stateQuery);
    try {
      for (let step = 0; s.stage !== 'ended'; step++) {
        if (step > o.steps * 2) throw new Error(`history-bound: still ${s.stage} after ${step} steps`);
        if (process.env.AIRLOCK_BENCH_VERBOSE && step % 50 === 0)
          console.error(`history-bound: step ${step}, ${s.stage}, ${samplesSignalled} alerts signalled`);
        const environment = s.deployed.includes('production') ? 'production' : 'staging';
        const alerts = step < o.steps ? share(o.samples, o.steps, step) : 0;
        const decisions = step < o.steps ? share(o.decisions, o.steps, step) : 0;
        // Spread over the step, as they would arrive: each becomes a workflow task of its own.
        const sends = alerts + decisions;
        for (let j = 0; j < sends; j++) {
          const now = await env.currentTimeMs();
          if (Math.floor(((j + 1) * decisions) / sends) > Math.floor((j * decisions) / sends)) {
            await badDecision(env.client, workflowId, decisionsSent++, now);
          } else {
            const res = await app.inject({
              method: 'POST',
              url: '/webhooks/alerts',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
              payload: alert(service, environment, now),
            });
            if (res.statusCode !== 202) throw new Error(`alert route: ${res.statusCode} ${res.body}`);
            samplesSignalled += (res.json() as { promotionsSignalled: number }).promotionsSignalled;
          }
          await env.sleep(stepMs / sends);
        }
        if (!sends) await env.sleep(stepMs);
        const now = await env.currentTimeMs();
        if (s.stage === 'awaiting_approval' && !approved && now >= approveAt) {
          for (const approver of ['alice', 'bob']) {
            const binding = bindingOf(s); // the commit and policy hash `airlock approve` signs for
            const req = signedRequest('approve', {
              workflowId,
              approver,
              secretKey: testSecretKey(approver),
              now,
              ...(binding ? { binding } : {}),
            });
            await h.executeUpdate(approveUpdate, { args: [req] });
          }
          approved = true;
        }
        s = await h.query(stateQuery);
      }
    } finally {
      await app.close();
    }
    const runs = await runHistories(env.client, workflowId);
    const eventsPerRun = runs.map((r) => r.events);
    return {
      ...o,
      samplesSignalled,
      decisionsSent,
      runs: runs.length,
      eventsPerRun,
      maxEventsPerRun: Math.max(...eventsPerRun),
      totalEvents: eventsPerRun.reduce((a, b) => a + b, 0),
      outcome: s.outcome ?? '?',
      workflowHours: (Date.parse(s.endedAt ?? s.now) - startedAt) / HOUR_MS,
      wallSeconds: (Date.now() - wallStart) / 1000,
    };
  });
}
