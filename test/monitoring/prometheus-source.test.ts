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
import { prometheusCountSettings, TEST_COUNT_QUERIES } from './queries';
import type { MetricsQuery } from '../../src/integrations/metrics-source';
import type { MonitoringSettings } from '../../src/policy/config/monitoring-schema';

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

const read = (source: ReturnType<typeof createPrometheusSource>, q: Partial<MetricsQuery> = {}) =>
  source.read({
    service: SVC,
    environment: 'production',
    target: 'canary',
    version: 'v2',
    readyAt: Date.now() - 60_000,
    at: Date.now(),
    windowSeconds: 5,
    ...q,
  });
const counts = (url: string, c: Partial<Record<keyof typeof TEST_COUNT_QUERIES, string>> = {}) =>
  createPrometheusSource({ ...prometheusCountSettings(url), countQueries: { ...TEST_COUNT_QUERIES, ...c } });

describe('PrometheusSource (count queries)', () => {
  test('canary: the new version’s errors and requests over the poll’s window, beside the stable version’s over the same window', async () => {
    const r = await read(counts(prom.url));
    assert.equal(r.kind, 'sample', JSON.stringify(r));
    if (r.kind !== 'sample') return;
    const s = r.sample;
    // 100 requests/s at 4 % over a 5 s window, beside 200/s at 1 %.
    assert.ok(s.requests! >= 400 && s.requests! <= 600, `requests ${s.requests}`);
    assert.ok(Math.abs(s.errors! / s.requests! - 0.04) < 0.01, `errors ${s.errors}`);
    assert.ok(s.baselineRequests! >= 800 && s.baselineRequests! <= 1200, `baselineRequests ${s.baselineRequests}`);
    assert.ok(Math.abs(s.baselineErrors! / s.baselineRequests! - 0.01) < 0.004, `baselineErrors ${s.baselineErrors}`);
    // Whole counts, and the rates derived from them.
    for (const k of ['errors', 'requests', 'baselineErrors', 'baselineRequests'] as const)
      assert.ok(Number.isInteger(s[k]), `${k} ${s[k]}`);
    assert.equal(s.rate, s.errors! / s.requests!);
    assert.equal(s.requestCount, s.requests);
    assert.equal(s.environment, 'production');
    assert.match(s.source!, /^prometheus http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('staging: the baseline counts the environment before readiness (@ readyAt), the new version counts now', async () => {
    const readyAt = Date.now();
    exporter.set({ service: SVC, environment: 'staging', version: 'v2', rps: 100, errorRatio: 0.08 });
    await sleep(7_000); // the 5 s window must hold only the new ratio
    const r = await read(counts(prom.url), { environment: 'staging', target: 'staging', readyAt });
    assert.equal(r.kind, 'sample', JSON.stringify(r));
    if (r.kind !== 'sample') return;
    assert.ok(Math.abs(r.sample.errors! / r.sample.requests! - 0.08) < 0.015, `rate ${r.sample.rate}`);
    assert.ok(
      Math.abs(r.sample.baselineErrors! / r.sample.baselineRequests! - 0.02) < 0.005,
      `baseline ${r.sample.baseline}`,
    );
  });

  test('a service with no series counts no requests (no evidence), never a healthy interval; a query without `or vector(0)` is missing data, and so are a bad query and an unreachable server', async () => {
    const ghost = await read(counts(prom.url), { service: 'ghost-service' });
    assert.equal(ghost.kind, 'sample', JSON.stringify(ghost));
    if (ghost.kind === 'sample') assert.deepEqual([ghost.sample.errors, ghost.sample.requests], [0, 0]);

    const empty = await read(
      counts(prom.url, { requests: 'sum(increase(http_requests_total{service="{{service}}"}[{{window}}]))' }),
      { service: 'ghost-service' },
    );
    assert.equal(empty.kind, 'missing');
    assert.match((empty as { reason: string }).reason, /no data for requests of production/);

    const badRead = await read(counts(prom.url, { requests: 'sum(rate(http_requests_total[5s]' }));
    assert.equal(badRead.kind, 'missing');
    assert.match((badRead as { reason: string }).reason, /HTTP 400 bad_data/);

    const down = createPrometheusSource({ ...prometheusCountSettings('http://127.0.0.1:9'), timeoutSeconds: 2 });
    const downRead = await read(down);
    assert.equal(downRead.kind, 'missing');
    assert.match((downRead as { reason: string }).reason, /^prometheus http:\/\/127\.0\.0\.1:9: /);
  });

  test('a count query that returns no count (negative) is refused as missing data, naming it', async () => {
    const r = await read(
      counts(prom.url, { errors: `(${(TEST_COUNT_QUERIES.errors as { canary: string }).canary}) - 1000000` }),
    );
    assert.equal(r.kind, 'missing');
    assert.match((r as { reason: string }).reason, /no data for errors of production/);
  });

  test('settings recorded with rate queries only (a promotion from before counts-only) build no source, saying why', () => {
    const factory = createMetricsSourceFactory();
    const recorded = {
      maxSilenceMinutes: 10,
      intervalSeconds: 60,
      prometheus: { url: prom.url, timeoutSeconds: 5, errorRateQuery: 'r', baselineQuery: 'b', requestCountQuery: 'n' },
    } as unknown as MonitoringSettings;
    assert.throws(
      () => factory(recorded),
      /rate queries \(errorRateQuery, baselineQuery, requestCountQuery\) are no longer read; configure countQueries/,
    );
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
    monitoring: { maxSilenceMinutes: 0.1, intervalSeconds: 1, prometheus: prometheusCountSettings(prom.url) },
    rollback: { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001 },
    sequential: true,
    ...o,
  });
  const watch = createErrorRateWatchActivity(createMetricsSourceFactory());
  const runWatch = (env: MockActivityEnvironment, i: ErrorRateWatchInput) =>
    env.run(watch, i) as Promise<ErrorRateWatchResult>;

  test('a breaching poll ends the watch at once with the sample, the test’s evidence and the statistic', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d) => beats.push(d));
    const started = Date.now();
    const r = await runWatch(env, input({ until: Date.now() + 60_000 }));
    assert.equal(r.outcome, 'breach');
    if (r.outcome !== 'breach') return;
    assert.ok(Date.now() - started < 5_000, 'returned on the first breaching poll, not at the end of the window');
    assert.ok(r.risePercent > 200, `rise ${r.risePercent}`); // 4 % beside 1 %
    assert.match(r.test ?? '', /likelihood ratio .* ≥ 1\/α/);
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
    const until = Date.now() + 5_000;
    // Counting from 5 s ago (all at the healthy ratio), a poll every 2 s: each window holds two scrapes.
    const r = await runWatch(
      env,
      input({
        until,
        windowFrom: Date.now() - 5_000,
        monitoring: { maxSilenceMinutes: 0.1, intervalSeconds: 2, prometheus: prometheusCountSettings(prom.url) },
      }),
    );
    assert.equal(r.outcome, 'elapsed', JSON.stringify(r));
    assert.ok(Date.now() >= until);
    assert.ok(r.evidence.polls >= 2 && r.evidence.polls <= 4, `polls ${r.evidence.polls}`); // one each 2 s, fewer on a loaded machine
    // Every poll counted, and the first (5 s of traffic) was evidence for the test.
    assert.equal(r.evidence.conclusive + r.evidence.inconclusive, r.evidence.polls);
    assert.ok(r.evidence.conclusive >= 1, JSON.stringify(r.evidence));
    assert.match(r.evidence.testEvidence ?? '', /ratio 1\.\d+× \(threshold 1\.05×\); likelihood ratio .* < 1\/α/);
    assert.equal(beats.length, r.evidence.polls);
    assert.deepEqual(
      beats.map((b) => b.polls),
      beats.map((_, i) => i + 1),
    );
  });

  test('series gone: intervals without requests are no evidence, then silence after maxSilenceMinutes', async () => {
    exporter.remove(SVC, 'production', 'v2');
    await sleep(7_000);
    const env = new MockActivityEnvironment();
    const start = Date.now();
    // Counting from now: the series' traffic before it went is no longer under watch.
    const r = await runWatch(env, input({ lastEvidenceAt: start, until: start + 60_000, windowFrom: start }));
    assert.equal(r.outcome, 'silence', JSON.stringify(r));
    if (r.outcome !== 'silence') return;
    assert.ok(r.silentMinutes >= 0.1, `silent ${r.silentMinutes} min`);
    assert.equal(r.evidence.conclusive, 0);
    assert.ok(r.evidence.inconclusive >= 4, `inconclusive ${r.evidence.inconclusive}`);
    assert.deepEqual(
      r.evidence.recent.map((x) => x.requests),
      r.evidence.recent.map(() => 0),
    );
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
