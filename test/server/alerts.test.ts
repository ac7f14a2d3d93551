// Alert webhooks against a live server and a real Temporal dev server: an Alertmanager or Datadog
// payload becomes an errorRate signal for the service's promotion in flight; others change nothing.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, devServerEnv, state } from '../helpers/harness';
import { startLiveServer, type LiveServer } from './server-rig';

const TOKEN = 'alert-token-0123456789abcdef';
let env: TestWorkflowEnvironment;
let server: LiveServer;
beforeAll(async () => {
  env = await devServerEnv();
  server = await startLiveServer(env, { alerts: { token: TOKEN } });
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
});
