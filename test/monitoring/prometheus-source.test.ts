// PrometheusSource and the watch activity against Debian's Prometheus scraping a test exporter.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPrometheusSource } from '../../src/integrations/prometheus/prometheus-source';
import {
  createErrorRateWatchActivity,
  type ErrorRateWatchInput,
  type ErrorRateWatchResult,
} from '../../src/activities/watch';
import { createMetricsSourceFactory } from '../../src/integrations/metrics-source-factory';
import { startTestExporter, type TestExporter } from './test-exporter';
import { startPrometheus, type PrometheusServer } from './prometheus-server';
import { prometheusSettings, TEST_QUERIES } from './queries';

let exporter: TestExporter;
let prom: PrometheusServer;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SVC = 'search-service';

beforeAll(async () => {
  exporter = await startTestExporter();
  exporter.set({ service: SVC, environment: 'production', version: 'v1', rps: 200, errorRatio: 0.01 });
  exporter.set({ service: SVC, environment: 'production', version: 'v2', rps: 100, errorRatio: 0.04 });
  exporter.set({ service: SVC, environment: 'staging', version: 'v2', rps: 100, errorRatio: 0.02 });
  prom = await startPrometheus([exporter.target]);
  await prom.waitForScrapes(7);
});
afterAll(async () => {
  await prom?.stop();
  await exporter?.close();
});

describe('PrometheusSource', () => {
  test('canary: the new version against the stable version at the same moment, with its request count', async () => {
    const source = createPrometheusSource(prometheusSettings(prom.url));
    const r = await source.read({
      service: SVC,
      environment: 'production',
      target: 'canary',
      version: 'v2',
      readyAt: Date.now() - 60_000,
      at: Date.now(),
    });
    assert.equal(r.kind, 'sample', JSON.stringify(r));
    if (r.kind !== 'sample') return;
    assert.ok(Math.abs(r.sample.rate - 0.04) < 0.002, `rate ${r.sample.rate}`);
    assert.ok(Math.abs(r.sample.baseline - 0.01) < 0.001, `baseline ${r.sample.baseline}`);
    // 100 requests/s over a 5 s window.
    assert.ok(r.sample.requestCount >= 400 && r.sample.requestCount <= 600, `requestCount ${r.sample.requestCount}`);
    assert.equal(r.sample.environment, 'production');
    assert.match(r.sample.source!, /^prometheus http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('staging: the baseline is the rate just before readiness (@ readyAt), the rate is now', async () => {
    const readyAt = Date.now();
    exporter.set({ service: SVC, environment: 'staging', version: 'v2', rps: 100, errorRatio: 0.08 });
    await sleep(7_000); // the 5 s window must hold only the new ratio
    const source = createPrometheusSource(prometheusSettings(prom.url));
    const r = await source.read({
      service: SVC,
      environment: 'staging',
      target: 'staging',
      version: 'v2',
      readyAt,
      at: Date.now(),
    });
    assert.equal(r.kind, 'sample', JSON.stringify(r));
    if (r.kind !== 'sample') return;
    assert.ok(Math.abs(r.sample.rate - 0.08) < 0.003, `rate ${r.sample.rate}`);
    assert.ok(Math.abs(r.sample.baseline - 0.02) < 0.002, `baseline ${r.sample.baseline}`);
  });

  test('no series is missing data, never zero errors; so are a bad query and an unreachable server', async () => {
    const source = createPrometheusSource(prometheusSettings(prom.url));
    const ghost = await source.read({
      service: 'ghost-service',
      environment: 'production',
      target: 'canary',
      version: 'v2',
      readyAt: 0,
      at: Date.now(),
    });
    assert.equal(ghost.kind, 'missing');
    assert.match((ghost as { reason: string }).reason, /no data for rate, baseline, requestCount of production/);

    const bad = createPrometheusSource({
      ...prometheusSettings(prom.url),
      requestCountQuery: 'sum(rate(http_requests_total[5s]',
    });
    const badRead = await bad.read({
      service: SVC,
      environment: 'production',
      target: 'canary',
      version: 'v2',
      readyAt: 0,
      at: Date.now(),
    });
    assert.equal(badRead.kind, 'missing');
    assert.match((badRead as { reason: string }).reason, /HTTP 400 bad_data/);

    const down = createPrometheusSource({ ...prometheusSettings('http://127.0.0.1:9'), timeoutSeconds: 2 });
    const downRead = await down.read({
      service: SVC,
      environment: 'production',
      target: 'canary',
      version: 'v2',
      readyAt: 0,
      at: Date.now(),
    });
    assert.equal(downRead.kind, 'missing');
    assert.match((downRead as { reason: string }).reason, /^prometheus http:\/\/127\.0\.0\.1:9: /);
  });

  test('a query that returns a percentage instead of a fraction is refused as missing data', async () => {
    const pct = createPrometheusSource({
      ...prometheusSettings(prom.url),
      errorRateQuery: `100 * (${TEST_QUERIES.errorRateQuery.canary})`,
    });
    const r = await pct.read({
      service: SVC,
      environment: 'production',
      target: 'canary',
      version: 'v2',
      readyAt: 0,
      at: Date.now(),
    });
    assert.equal(r.kind, 'missing');
    assert.match((r as { reason: string }).reason, /rate [\d.]+ is not a fraction 0\.\.1/);
  });
});

describe('watchErrorRate activity (MockActivityEnvironment, real Prometheus)', () => {
  const input = (o: Partial<ErrorRateWatchInput>): ErrorRateWatchInput => ({
    service: SVC,
    environment: 'production',
    target: 'canary',
    version: 'v2',
    readyAt: Date.now() - 60_000,
    until: Date.now() + 4_000,
    lastEvidenceAt: Date.now(),
    label: 'test window',
    monitoring: { maxSilenceMinutes: 0.1, intervalSeconds: 1, prometheus: prometheusSettings(prom.url) },
    rollback: { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001 },
    ...o,
  });
  const watch = createErrorRateWatchActivity(createMetricsSourceFactory());
  const runWatch = (env: MockActivityEnvironment, i: ErrorRateWatchInput) =>
    env.run(watch, i) as Promise<ErrorRateWatchResult>;

  test('a breaching sample ends the watch at once with the sample and the evidence; each poll heartbeats', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d) => beats.push(d));
    const started = Date.now();
    const r = await runWatch(env, input({ until: Date.now() + 60_000 }));
    assert.equal(r.outcome, 'breach');
    if (r.outcome !== 'breach') return;
    assert.ok(Date.now() - started < 5_000, 'returned on the first breaching poll, not at the end of the window');
    assert.ok(r.risePercent > 200, `rise ${r.risePercent}`);
    assert.equal(r.evidence.polls, 1);
    assert.deepEqual(r.evidence.recent, [r.sample]);
    assert.equal(beats.length, 0, 'the breaching poll returns instead of heartbeating');
  });

  test('a healthy window returns at its end with its samples; heartbeats carry the progress', async () => {
    exporter.set({ service: SVC, environment: 'production', version: 'v2', rps: 100, errorRatio: 0.0101 });
    await sleep(6_000);
    const env = new MockActivityEnvironment();
    const beats: Array<{ polls: number }> = [];
    env.on('heartbeat', (d) => beats.push(d as { polls: number }));
    const until = Date.now() + 3_500;
    const r = await runWatch(env, input({ until }));
    assert.equal(r.outcome, 'elapsed', JSON.stringify(r));
    assert.ok(Date.now() >= until);
    assert.ok(r.evidence.polls >= 2 && r.evidence.polls <= 5, `polls ${r.evidence.polls}`); // one a second, fewer on a loaded machine
    assert.equal(r.evidence.conclusive, r.evidence.polls);
    assert.equal(beats.length, r.evidence.polls);
    assert.deepEqual(
      beats.map((b) => b.polls),
      beats.map((_, i) => i + 1),
    );
  });

  test('series gone: missing readings, then silence after maxSilenceMinutes, reported as missing with reasons', async () => {
    exporter.remove(SVC, 'production', 'v2');
    await sleep(7_000);
    const env = new MockActivityEnvironment();
    const start = Date.now();
    const r = await runWatch(env, input({ lastEvidenceAt: start, until: start + 60_000 }));
    assert.equal(r.outcome, 'silence', JSON.stringify(r));
    if (r.outcome !== 'silence') return;
    assert.ok(r.silentMinutes >= 0.1, `silent ${r.silentMinutes} min`);
    assert.equal(r.evidence.conclusive, 0);
    assert.ok(r.evidence.missing >= 4, `missing ${r.evidence.missing}`);
    assert.match(r.evidence.recentMissing.at(-1)!.reason, /no data for rate, requestCount of production/);
    exporter.set({ service: SVC, environment: 'production', version: 'v2', rps: 100, errorRatio: 0.04 });
  });

  test('a retried attempt resumes the silence clock from its last heartbeat', async () => {
    const env = new MockActivityEnvironment({
      heartbeatDetails: {
        source: 'x',
        polls: 9,
        conclusive: 9,
        inconclusive: 0,
        missing: 0,
        lastEvidenceAt: Date.now() - 60_000,
        recent: [],
        recentMissing: [],
      },
      attempt: 2,
    });
    const r = await runWatch(env, input({ lastEvidenceAt: Date.now(), until: Date.now() + 60_000 }));
    assert.equal(r.outcome, 'silence');
    assert.equal(r.evidence.polls, 9, 'judged before polling: the worker that died saw nothing for a minute');
  });
});
