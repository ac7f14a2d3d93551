// Alert webhooks against a live server and a real Temporal dev server: a firing Alertmanager or
// Datadog alert is the alerting system's own verdict. A request becomes at most one `alert` signal
// per promotion in flight (its distinct firing alerts); the promotion rolls back when one is about
// the change (its version, or service-wide) in an environment running it; others change nothing.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, devServerEnv, state } from '../helpers/harness';
import { floodUntilContinued } from '../helpers/runs';
import { startLiveServer, type LiveServer } from './server-rig';

const TOKEN = 'alert-token-0123456789abcdef';
const DD_TOKEN = 'datadog-token-0123456789abcdef';
let env: TestWorkflowEnvironment;
let server: LiveServer;
beforeAll(async () => {
  env = await devServerEnv();
  // The production default body limit (AIRLOCK_BODY_LIMIT_BYTES): room for thousands of alerts.
  server = await startLiveServer(env, {
    alerts: { alertmanagerToken: TOKEN, datadogToken: DD_TOKEN },
    bodyLimit: 1024 * 1024,
  });
});
afterAll(async () => {
  await server?.app.close();
  await env?.teardown();
});

const json = { 'content-type': 'application/json' };
const auth = { ...json, authorization: `Bearer ${TOKEN}` };
const ddAuth = { ...json, authorization: `Bearer ${DD_TOKEN}` };

interface Alert {
  service: string;
  status?: 'firing' | 'resolved';
  environment?: string;
  alertname?: string;
  version?: string;
  startsAt?: string;
}

/** One Alertmanager v4 delivery (a group of one rule across instances), as Alertmanager sends it. */
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
      labels: {
        alertname: a.alertname ?? 'ErrorRateHigh',
        service: a.service,
        environment: a.environment ?? 'staging',
        ...(a.version ? { version: a.version } : {}),
        pod: `p${i}`,
      },
      annotations: { summary: 'error rate above 5 % for 5 minutes' },
      startsAt: a.startsAt ?? new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=job%3Aerrors%3Aratio',
      fingerprint: i.toString(16).padStart(16, '0'),
    })),
  });
}

/** A Datadog monitor webhook with the custom payload docs/server.md gives. */
function datadog(o: { transition?: string; version?: string; title?: string } = {}) {
  return JSON.stringify({
    source: 'datadog',
    service: 'notification-service',
    environment: 'staging',
    title: o.title ?? '[Triggered] notification-service 5xx ratio',
    transition: o.transition ?? 'Triggered',
    ...(o.version ? { version: o.version } : {}),
    link: 'https://app.datadoghq.com/monitors/123',
    date: Date.now(),
  });
}

/** The alert signals in a promotion's history, and the history's length. */
async function alertSignals(h: WorkflowHandle) {
  const events = (await h.fetchHistory()).events!;
  const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'alert');
  return { signals: signals.length, events: events.length };
}

/**
 * Waits up to a minute for `stage`. On a loaded machine the first workflow task (loading the
 * bundle) can outlast its timeout; the query that waits on it then fails, and is asked again.
 */
async function untilStage(h: WorkflowHandle, stage: string) {
  const deadline = Date.now() + 60_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const s = await state(h).catch((err: Error) => ({ stage: `query failed: ${err.message}` }));
    if (s.stage === stage) return;
    last = s.stage;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`still ${last}, not ${stage}, after 60 s`);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('POST /webhooks/alerts', () => {
  test('a firing alert about the change rolls it back; bad token, bad payload and other versions change nothing', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      await untilStage(h, 'baking');
      const one = alertmanagerBatch([{ service: 'notification-service', version: 'v2' }]);
      const wrong = await server.post('/webhooks/alerts', one, { ...json, authorization: 'Bearer nope' });
      assert.deepEqual([wrong.status, wrong.json.error], [401, 'authorization: missing or wrong bearer token']);
      const malformed = await server.post(
        '/webhooks/alerts',
        alertmanagerBatch([{ service: 'notification-service', environment: 'qa' }]),
        auth,
      );
      assert.equal(malformed.status, 400);
      assert.match(malformed.json.error, /^alertmanager payload: alerts\.0\.labels\.environment: /);
      const badTime = await server.post(
        '/webhooks/alerts',
        alertmanagerBatch([{ service: 'notification-service', startsAt: 'yesterday' }]),
        auth,
      );
      assert.deepEqual(
        [badTime.status, badTime.json.error],
        [400, 'alert for notification-service (alerts.0): startsAt: must be an ISO-8601 date-time'],
      );
      const unknown = await server.post('/webhooks/alerts', alertmanagerBatch([{ service: 'ghost-service' }]), auth);
      assert.equal(unknown.status, 422);
      // One token per source: each speaks only for its own (a leaked Datadog token sends no Alertmanager alert).
      const crossed = await server.post('/webhooks/alerts', one, ddAuth);
      assert.deepEqual(
        [crossed.status, crossed.json.error],
        [403, 'authorization: the Datadog token may only send Datadog payloads (this one is Alertmanager)'],
      );
      const crossed2 = await server.post('/webhooks/alerts', datadog(), auth);
      assert.deepEqual(
        [crossed2.status, crossed2.json.error],
        [403, 'authorization: the Alertmanager token may only send Alertmanager payloads (this one is Datadog)'],
      );
      assert.equal((await alertSignals(h)).signals, 0);

      // About the stable version: recorded, not acted on. A Datadog warning is not a verdict.
      const other = await server.post(
        '/webhooks/alerts',
        alertmanagerBatch([{ service: 'notification-service', version: 'v1' }]),
        auth,
      );
      assert.deepEqual([other.status, other.json.signalled], [202, [h.workflowId]]);
      const warn = await server.post('/webhooks/alerts', datadog({ transition: 'Warn' }), ddAuth);
      assert.deepEqual(
        [warn.status, warn.json.promotionsSignalled, warn.json.ignored],
        [202, 0, [{ reason: 'not an alert', service: 'notification-service', alerts: [0] }]],
      );
      const s = await state(h);
      assert.deepEqual([s.stage, s.errorRate.samples, s.errorRate.alerts?.ignored], ['baking', 0, 1]);
      assert.equal(s.errorRate.alerts?.recentIgnored[0].reason, 'about version v1, not v2');

      const fired = await server.post('/webhooks/alerts', datadog(), ddAuth);
      assert.equal(fired.status, 202);
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'alert');
      if (r.interruption?.kind !== 'alert') return;
      assert.deepEqual(
        [r.interruption.alert.source, r.interruption.alert.name, r.interruption.about, r.interruption.alert.url],
        [
          'datadog',
          '[Triggered] notification-service 5xx ratio',
          'service-wide',
          'https://app.datadoghq.com/monitors/123',
        ],
      );
      assert.equal((await state(h)).errorRate.samples, 0, 'an alert is a verdict, not an error-rate sample');
    });
  });

  test('1,000 firing alerts for one promotion: one alert signal carrying the distinct ones, which rolls back', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      await untilStage(h, 'baking');
      // The stable version alerting on every instance, production (not running the change yet), and
      // one instance of the new version.
      const alerts: Alert[] = range(1000).map((i) =>
        i % 2
          ? { service: 'notification-service', version: 'v1' }
          : { service: 'notification-service', environment: 'production' },
      );
      alerts[707] = { service: 'notification-service', version: 'v2', alertname: 'ErrorRateHigh' };

      // One bad alert among the thousand: 400 naming it, and nothing is signalled.
      const bad = alerts.map((a, i) => (i === 999 ? { ...a, startsAt: 'soon' } : a));
      const refused = await server.post('/webhooks/alerts', alertmanagerBatch(bad), auth);
      assert.equal(refused.status, 400);
      assert.match(refused.json.error, /alerts\.999\): startsAt: must be an ISO-8601 date-time/);
      assert.equal((await alertSignals(h)).signals, 0);

      const ok = await server.post('/webhooks/alerts', alertmanagerBatch(alerts), auth);
      assert.equal(ok.status, 202, JSON.stringify(ok.json));
      assert.deepEqual(
        [ok.json.received, ok.json.promotionsSignalled, ok.json.signalled, ok.json.ignored],
        [1000, 1, [h.workflowId], []],
      );
      assert.deepEqual(ok.json.signals, [
        { workflowId: h.workflowId, service: 'notification-service', alerts: 1000, sent: 3 },
      ]);
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind === 'alert' && r.interruption.alert.version, 'v2');
      assert.equal((await state(h)).errorRate.alerts?.received, 3);
      const history = await alertSignals(h);
      assert.equal(history.signals, 1);
      console.log(`1,000-alert request: ${history.signals} alert signal(s), ${history.events} history events`);
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
          ...range(300).map(() => ({ service: 'notification-service', version: 'v1' })),
          ...range(300).map(() => ({ service: 'search-service', environment: 'production' })),
          { service: 'notification-service', status: 'resolved' as const },
          { service: 'search-service', status: 'resolved' as const },
          { service: 'payment-service' },
          { service: 'ghost-service' },
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
          assert.equal((await alertSignals(h)).signals, 1);
          const st = await state(h);
          assert.deepEqual([st.stage, st.errorRate.alerts?.received, st.errorRate.alerts?.ignored], ['baking', 1, 1]);
        }
        assert.equal(
          (await state(s)).errorRate.alerts?.recentIgnored[0].reason,
          'the change is not running in production yet',
        );
      } finally {
        await Promise.all([n.terminate('test over'), s.terminate('test over')]);
      }
    });
  });

  test('an alert firing since before the change was ready, still firing after a continue-as-new, rolls back and says so', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const firingSince = new Date(Date.now() - 3_600_000).toISOString(); // before the promotion started
      const h = await rig.start({}, { historyLimit: 100 });
      await untilStage(h, 'baking');
      await floodUntilContinued(h);
      // Alertmanager repeats a firing alert with its first startsAt: it is not stale.
      const ok = await server.post(
        '/webhooks/alerts',
        alertmanagerBatch([{ service: 'notification-service', startsAt: firingSince }]),
        auth,
      );
      assert.equal(ok.status, 202, JSON.stringify(ok.json));
      assert.deepEqual(ok.json.signalled, [h.workflowId]);
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'alert');
      if (r.interruption?.kind !== 'alert') return;
      assert.deepEqual(
        [r.interruption.about, r.interruption.firingBeforeReady, r.interruption.alert.startsAt],
        ['service-wide', true, firingSince],
      );
    });
  });

  test('resolved alerts signal nothing, and an all-unknown request is refused', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start();
      try {
        await untilStage(h, 'baking');
        const resolved = range(500).map(() => ({ service: 'notification-service', status: 'resolved' as const }));
        const ok = await server.post('/webhooks/alerts', alertmanagerBatch(resolved), auth);
        assert.equal(ok.status, 202, JSON.stringify(ok.json));
        assert.deepEqual(
          [ok.json.received, ok.json.promotionsSignalled, ok.json.signalled, ok.json.ignored],
          [500, 0, [], [{ reason: 'resolved', service: 'notification-service', alerts: range(500) }]],
        );
        const recovered = await server.post('/webhooks/alerts', datadog({ transition: 'Recovered' }), ddAuth);
        assert.deepEqual(recovered.json.ignored, [
          { reason: 'resolved', service: 'notification-service', alerts: [0] },
        ]);
        const ghosts = await server.post(
          '/webhooks/alerts',
          alertmanagerBatch([{ service: 'ghost-service' }, { service: 'phantom-service' }]),
          auth,
        );
        assert.deepEqual(
          [ghosts.status, ghosts.json.error],
          [422, 'service "ghost-service" is not declared in policy.services'],
        );
        assert.equal((await alertSignals(h)).signals, 0);
        const st = await state(h);
        assert.deepEqual([st.stage, st.errorRate.alerts], ['baking', undefined]);
      } finally {
        await h.terminate('test over');
      }
    });
  });
});
