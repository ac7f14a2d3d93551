// Alert webhooks against a live server and a real Temporal dev server: an Alertmanager or Datadog
// payload becomes at most one errorRate signal per promotion in flight (the request's most severe
// sample for that promotion); others change nothing.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, devServerEnv, state } from '../helpers/harness';
import { floodUntilContinued } from '../helpers/runs';
import { startLiveServer, type LiveServer } from './server-rig';

const TOKEN = 'alert-token-0123456789abcdef';
let env: TestWorkflowEnvironment;
let server: LiveServer;
beforeAll(async () => {
  env = await devServerEnv();
  // The production default body limit (AIRLOCK_BODY_LIMIT_BYTES): room for thousands of alerts.
  server = await startLiveServer(env, { alerts: { token: TOKEN }, bodyLimit: 1024 * 1024 });
});
afterAll(async () => {
  await server?.app.close();
  await env?.teardown();
});

const json = { 'content-type': 'application/json' };
const auth = { ...json, authorization: `Bearer ${TOKEN}` };

function alertmanager(service: string, annotations: Record<string, string>) {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="ErrorRateHigh"}',
    status: 'firing',
    receiver: 'airlock',
    groupLabels: { alertname: 'ErrorRateHigh' },
    commonLabels: { alertname: 'ErrorRateHigh', service },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'ErrorRateHigh', service, environment: 'staging' },
        annotations,
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: 'abc',
      },
    ],
  });
}

interface Alert {
  service: string;
  status?: 'firing' | 'resolved';
  environment?: 'staging' | 'production';
  error_rate: string;
  baseline?: string;
  request_count?: string;
  startsAt?: string;
}

/** One Alertmanager delivery carrying many alerts (a group of ErrorRateHigh across instances). */
function alertmanagerBatch(alerts: Alert[]) {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="ErrorRateHigh"}',
    status: 'firing',
    receiver: 'airlock',
    groupLabels: { alertname: 'ErrorRateHigh' },
    commonLabels: { alertname: 'ErrorRateHigh' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: alerts.map((a, i) => ({
      status: a.status ?? 'firing',
      labels: { alertname: 'ErrorRateHigh', service: a.service, environment: a.environment ?? 'staging', pod: `p${i}` },
      annotations: {
        error_rate: a.error_rate,
        baseline: a.baseline ?? '0.01',
        request_count: a.request_count ?? '1000',
      },
      startsAt: a.startsAt ?? new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: i.toString(16).padStart(16, '0'),
    })),
  });
}

/** The errorRate signals in a promotion's history, and the history's length. */
async function errorRateSignals(h: WorkflowHandle) {
  const events = (await h.fetchHistory()).events!;
  const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'errorRate');
  return { signals: signals.length, events: events.length };
}

async function untilStage(h: WorkflowHandle, stage: string) {
  for (let i = 0; i < 100 && (await state(h)).stage !== stage; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await state(h)).stage, stage);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('POST /webhooks/alerts', () => {
  test('alerts reach the promotion in flight as errorRate samples; bad token or payload signal nothing', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      for (let i = 0; i < 100 && (await state(h)).stage !== 'baking'; i++) await new Promise((r) => setTimeout(r, 100));
      const wrong = await server.post(
        '/webhooks/alerts',
        alertmanager('notification-service', { error_rate: '0.5', baseline: '0.01', request_count: '1000' }),
        { ...json, authorization: 'Bearer nope' },
      );
      assert.deepEqual([wrong.status, wrong.json.error], [401, 'authorization: missing or wrong bearer token']);
      const malformed = await server.post(
        '/webhooks/alerts',
        alertmanager('notification-service', { error_rate: 'high', baseline: '0.01', request_count: '1000' }),
        auth,
      );
      assert.deepEqual(
        [malformed.status, malformed.json.error],
        [400, 'alertmanager payload: alerts.0.annotations.error_rate: Invalid input: expected number, received NaN'],
      );
      const unknown = await server.post(
        '/webhooks/alerts',
        alertmanager('ghost-service', { error_rate: '0.01', baseline: '0.01', request_count: '1000' }),
        auth,
      );
      assert.equal(unknown.status, 422);
      assert.equal((await state(h)).errorRate.samples, 0);

      const ok = await server.post(
        '/webhooks/alerts',
        alertmanager('notification-service', { error_rate: '0.01', baseline: '0.01', request_count: '1000' }),
        auth,
      );
      assert.deepEqual([ok.status, ok.json.signalled], [202, [h.workflowId]]);
      const dd = JSON.stringify({
        source: 'datadog',
        service: 'notification-service',
        environment: 'staging',
        error_rate: 0.5,
        baseline: 0.01,
        request_count: 5000,
        date: Date.now(),
      });
      assert.equal((await server.post('/webhooks/alerts', dd, auth)).status, 202);
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'breach');
    });
  });
  test('1,000 firing alerts for one promotion: one errorRate signal carrying the most severe sample, which rolls back', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      await untilStage(h, 'baking');
      // Healthy alerts all around, a few breaches of different sizes, and two decoys that must not be
      // the one sent: a huge rise on 5 requests (inconclusive) and a huge rise observed before the
      // promotion started (stale, it describes the old version).
      const alerts: Alert[] = range(1000).map((i) => ({
        service: 'notification-service',
        error_rate: (0.0095 + (i % 10) / 10_000).toFixed(4),
      }));
      alerts[101] = { service: 'notification-service', error_rate: '0.9', request_count: '5' };
      alerts[202] = { service: 'notification-service', error_rate: '0.3', baseline: '0.01', request_count: '500' };
      alerts[303] = { service: 'notification-service', error_rate: '0.95', startsAt: '2020-01-01T00:00:00Z' };
      alerts[404] = { service: 'notification-service', error_rate: '0.05', baseline: '0.01' };
      alerts[707] = { service: 'notification-service', error_rate: '0.5', baseline: '0.01', request_count: '2000' };

      // One bad alert among the thousand: 400 naming it, and nothing is signalled.
      const bad = alerts.map((a, i) => (i === 999 ? { ...a, error_rate: '1.5' } : a));
      const refused = await server.post('/webhooks/alerts', alertmanagerBatch(bad), auth);
      assert.equal(refused.status, 400);
      assert.match(refused.json.error, /alerts\.999.*rate: must be a fraction between 0 and 1/);
      assert.deepEqual(await errorRateSignals(h).then((c) => c.signals), 0);

      const ok = await server.post('/webhooks/alerts', alertmanagerBatch(alerts), auth);
      assert.equal(ok.status, 202, JSON.stringify(ok.json));
      assert.deepEqual(
        [ok.json.received, ok.json.promotionsSignalled, ok.json.signalled, ok.json.ignored],
        [1000, 1, [h.workflowId], []],
      );
      assert.deepEqual(
        [ok.json.signals[0].workflowId, ok.json.signals[0].alerts, ok.json.signals[0].mostSevere],
        [h.workflowId, 1000, 707],
      );
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'breach');
      assert.equal(r.interruption?.kind === 'breach' && r.interruption.sample.rate, 0.5);
      const history = await errorRateSignals(h);
      assert.equal(history.signals, 1);
      const s = await state(h);
      assert.equal(s.errorRate.samples, 1);
      console.log(`1,000-alert request: ${history.signals} errorRate signal(s), ${history.events} history events`);
    });
  });

  test('alerts for two promotions in flight: one signal each; resolved, unknown and idle services are ignored and named', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1, maxServicesInFlight: 2 } });
    await rig.run(async () => {
      const n = await rig.start({ service: 'notification-service' });
      const s = await rig.start({ service: 'search-service' });
      try {
        await untilStage(n, 'baking');
        await untilStage(s, 'baking');
        const alerts: Alert[] = [
          ...range(300).map(() => ({ service: 'notification-service', error_rate: '0.0100' })),
          ...range(300).map(() => ({ service: 'search-service', error_rate: '0.0101' })),
          { service: 'notification-service', status: 'resolved', error_rate: '0.9' },
          { service: 'search-service', status: 'resolved', error_rate: '0.9' },
          { service: 'payment-service', error_rate: '0.9' },
          { service: 'ghost-service', error_rate: '0.9' },
        ];
        const ok = await server.post('/webhooks/alerts', alertmanagerBatch(alerts), auth);
        assert.equal(ok.status, 202, JSON.stringify(ok.json));
        assert.equal(ok.json.received, 604);
        assert.equal(ok.json.promotionsSignalled, 2);
        assert.deepEqual([...ok.json.signalled].sort(), [n.workflowId, s.workflowId].sort());
        assert.deepEqual(ok.json.ignored, [
          { reason: 'resolved', service: 'notification-service', alerts: [600] },
          { reason: 'resolved', service: 'search-service', alerts: [601] },
          { reason: 'unknown service', service: 'ghost-service', alerts: [603] },
          { reason: 'no promotion in flight', service: 'payment-service', alerts: [602] },
        ]);
        for (const h of [n, s]) {
          assert.equal((await errorRateSignals(h)).signals, 1);
          const st = await state(h);
          assert.deepEqual([st.stage, st.errorRate.samples, st.errorRate.inconclusive], ['baking', 1, 0]);
        }
        assert.equal((await state(s)).errorRate.last?.rate, 0.0101);
      } finally {
        await Promise.all([n.terminate('test over'), s.terminate('test over')]);
      }
    });
  });

  test('after the promotion continued as new, a breach observed before that still outranks a newer healthy alert', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start({}, { historyLimit: 100 });
      await untilStage(h, 'baking');
      const breachSeenAt = new Date().toISOString(); // after staging was ready, before the continue-as-new
      await new Promise((r) => setTimeout(r, 1100));
      await floodUntilContinued(h);
      const ok = await server.post(
        '/webhooks/alerts',
        alertmanagerBatch([
          { service: 'notification-service', error_rate: '0.5', request_count: '2000', startsAt: breachSeenAt },
          { service: 'notification-service', error_rate: '0.01' },
        ]),
        auth,
      );
      assert.equal(ok.status, 202, JSON.stringify(ok.json));
      // The run that is listed started after the breach was seen; the promotion did not.
      assert.deepEqual([ok.json.signalled, ok.json.signals[0].mostSevere], [[h.workflowId], 0]);
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind === 'breach' && r.interruption.sample.rate, 0.5);
    });
  });

  test('resolved alerts signal nothing, and an all-unknown request is refused', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      try {
        await untilStage(h, 'baking');
        const resolved = range(500).map(() => ({
          service: 'notification-service',
          status: 'resolved' as const,
          error_rate: '0.5',
        }));
        const ok = await server.post('/webhooks/alerts', alertmanagerBatch(resolved), auth);
        assert.equal(ok.status, 202, JSON.stringify(ok.json));
        assert.deepEqual(
          [ok.json.received, ok.json.promotionsSignalled, ok.json.signalled, ok.json.ignored],
          [500, 0, [], [{ reason: 'resolved', service: 'notification-service', alerts: range(500) }]],
        );
        const ghosts = await server.post(
          '/webhooks/alerts',
          alertmanagerBatch([
            { service: 'ghost-service', error_rate: '0.5' },
            { service: 'phantom-service', error_rate: '0.5' },
          ]),
          auth,
        );
        assert.deepEqual(
          [ghosts.status, ghosts.json.error],
          [422, 'service "ghost-service" is not declared in policy.services'],
        );
        assert.equal((await errorRateSignals(h)).signals, 0);
        const st = await state(h);
        assert.deepEqual([st.stage, st.errorRate.samples], ['baking', 0]);
      } finally {
        await h.terminate('test over');
      }
    });
  });
});
