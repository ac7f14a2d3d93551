// DatadogSource through the official client against a fake Datadog API (real /api/v1/query payloads).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDatadogSource } from '../../src/integrations/datadog/datadog-source';
import {
  createErrorRateWatchActivity,
  type ErrorRateWatchInput,
  type ErrorRateWatchResult,
} from '../../src/activities/watch';
import { createMetricsSourceFactory } from '../../src/integrations/metrics-source-factory';
import type { MetricsQuery } from '../../src/integrations/metrics-source';
import { datadogSourceSchema } from '../../src/policy/config/monitoring-schema';
import { DD_TEST_KEYS, startDatadogFake, type DatadogFake } from '../fakes/datadog-fake';

let dd: DatadogFake;
beforeAll(async () => {
  dd = await startDatadogFake();
});
afterAll(async () => {
  await dd?.fake.close();
});

const tags = 'service:{{service}},env:{{environment}}';
const counts = (metric: string, extra: string) => `sum:trace.http.request.${metric}{${tags}${extra}}.as_count()`;
const countSettings = () =>
  datadogSourceSchema.parse({
    url: dd.url,
    preDeployWindowSeconds: 600,
    countQueries: {
      errors: counts('errors', ',version:{{version}}'),
      requests: counts('hits', ',version:{{version}}'),
      baselineErrors: {
        staging: counts('errors', ''),
        canary: counts('errors', ',!version:{{version}}'),
        production: counts('errors', ''),
      },
      baselineRequests: {
        staging: counts('hits', ''),
        canary: counts('hits', ',!version:{{version}}'),
        production: counts('hits', ''),
      },
    },
  });
/**
 * Counts per 20 s rollup bucket inside [from, to], the newest bucket still open (null), as
 * Datadog answers `.as_count()`: errors and hits of the new version and of the rest.
 */
function perBucket(rates: { errors: number; hits: number; baseErrors: number; baseHits: number }) {
  dd.series = (query, from, to) => {
    const base = query.includes('!version') || !query.includes('version:');
    const value = query.includes('.errors{')
      ? base
        ? rates.baseErrors
        : rates.errors
      : base
        ? rates.baseHits
        : rates.hits;
    const points: Array<[number, number | null]> = [];
    for (let t = from - (from % 20); t < to; t += 20) points.push([t * 1000, t + 20 >= to ? null : value]);
    return points;
  };
}
const rangeOf = (c: { query: URLSearchParams }) => [Number(c.query.get('from')), Number(c.query.get('to'))];
// The client's smallest backoff: 2 s, no growth.
const fastRetry = { maxRetries: 2, backoffBaseSeconds: 2, backoffMultiplier: 1 };
const q = (o: Partial<MetricsQuery> = {}): MetricsQuery => ({
  service: 'payment-service',
  environment: 'production',
  target: 'canary',
  version: 'v2',
  readyAt: 0,
  at: Date.now(),
  ...o,
});

/** One canary watch window of a minute through the watch activity, polling every second. */
async function watchCanary(
  source: Pick<ErrorRateWatchInput['monitoring'], 'datadog'>,
  extra: Partial<ErrorRateWatchInput> = {},
): Promise<ErrorRateWatchResult> {
  const watch = createErrorRateWatchActivity(
    createMetricsSourceFactory({ datadog: DD_TEST_KEYS, datadogClient: fastRetry }),
  );
  return (await new MockActivityEnvironment().run(watch, {
    service: 'payment-service',
    environment: 'production',
    target: 'canary',
    version: 'v2',
    readyAt: Date.now() - 60_000,
    until: Date.now() + 60_000,
    lastEvidenceAt: Date.now(),
    label: 'canary watch',
    monitoring: { maxSilenceMinutes: 1, intervalSeconds: 1, ...source },
    rollback: { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001, falseRollbackRate: 0.01 },
    ...extra,
  } satisfies ErrorRateWatchInput)) as ErrorRateWatchResult;
}

describe('DatadogSource (official client, fake Datadog API)', () => {
  test('reads counts with the keys, seconds since the epoch and the rendered queries', async () => {
    perBucket({ errors: 5, hits: 100, baseErrors: 9, baseHits: 900 });
    const source = createDatadogSource(countSettings(), DD_TEST_KEYS, fastRetry);
    const before = dd.fake.calls.length;
    const at = Date.now();
    const r = await source.read(q({ at, windowSeconds: 60 }));
    assert.equal(r.kind, 'sample', JSON.stringify(r));
    if (r.kind !== 'sample') return;
    assert.equal(r.sample.source, `datadog ${dd.url}`);
    assert.ok(r.sample.requests! > 0 && r.sample.errors! / r.sample.requests! === 0.05, JSON.stringify(r.sample));
    const calls = dd.fake.calls.slice(before);
    assert.equal(calls.length, 4);
    const queries = calls.map((c) => c.query.get('query')).sort();
    assert.ok(
      queries.includes('sum:trace.http.request.hits{service:payment-service,env:production,version:v2}.as_count()'),
      queries.join('\n'),
    );
    assert.ok(queries.some((x) => x!.includes('!version:v2')));
    assert.equal(Number(calls[0].query.get('to')), Math.floor(at / 1000));
    assert.equal(Number(calls[0].query.get('to')) - Number(calls[0].query.get('from')), 60);
  });

  test('a breach through the watch activity ends it with the sample', async () => {
    perBucket({ errors: 5, hits: 100, baseErrors: 9, baseHits: 900 });
    const r = await watchCanary({ datadog: countSettings() }, { sequential: true });
    assert.equal(r.outcome, 'breach', JSON.stringify(r));
    if (r.outcome === 'breach') assert.equal(Math.round(r.risePercent), 400); // 5 % beside 1 %
  });

  test('missing data is missing: no series, only gaps, no keys, forbidden', async () => {
    perBucket({ errors: 5, hits: 100, baseErrors: 9, baseHits: 900 });
    const withSeries = dd.series;
    dd.series = (query, from, to) =>
      query.includes('.errors{') && query.includes('version:v2') && !query.includes('!version')
        ? undefined
        : withSeries(query, from, to);
    const source = createDatadogSource(countSettings(), DD_TEST_KEYS, fastRetry);
    const none = await source.read(q({ windowSeconds: 60 }));
    assert.deepEqual(
      [none.kind, (none as { reason: string }).reason],
      ['missing', `datadog ${dd.url}: no data for errors of production`],
    );

    dd.series = () => [
      [Date.now() - 20_000, null],
      [Date.now(), null],
    ];
    const gaps = await source.read(q({ windowSeconds: 60 }));
    assert.match(
      (gaps as { reason: string }).reason,
      /no data for errors, requests, baselineErrors, baselineRequests of production/,
    );

    perBucket({ errors: 5, hits: 100, baseErrors: 9, baseHits: 900 });
    const keyless = await createDatadogSource(countSettings(), undefined).read(q());
    assert.match((keyless as { reason: string }).reason, /no API\/application key: set DD_API_KEY and DD_APP_KEY/);

    const forbidden = await createDatadogSource(countSettings(), { apiKey: 'wrong', appKey: 'wrong' }, fastRetry).read(
      q(),
    );
    assert.equal(forbidden.kind, 'missing');
    assert.match((forbidden as { reason: string }).reason, /HTTP 403: .*Forbidden/);
  });

  test('5xx answers are retried by the client; persistent ones end as missing data with the status', async () => {
    perBucket({ errors: 1, hits: 100, baseErrors: 9, baseHits: 900 });
    const source = createDatadogSource(countSettings(), DD_TEST_KEYS, fastRetry);
    dd.failNext(2, 503);
    const before = dd.fake.calls.length;
    const r = await source.read(q({ windowSeconds: 60 }));
    assert.equal(r.kind, 'sample', JSON.stringify(r));
    assert.equal(dd.fake.calls.length - before, 6, 'four queries, two of them retried once');

    dd.failNext(9, 500);
    const down = await createDatadogSource(countSettings(), DD_TEST_KEYS, { ...fastRetry, maxRetries: 1 }).read(q());
    assert.equal(down.kind, 'missing');
    assert.match((down as { reason: string }).reason, /HTTP 500: .*Internal Server Error/);
    dd.failNext(0);
  });

  describe('count queries (.as_count()): the sequential breach test', () => {
    test('canary: the new version and the stable one counted over the same poll interval, summed', async () => {
      perBucket({ errors: 3, hits: 100, baseErrors: 9, baseHits: 900 });
      const source = createDatadogSource(countSettings(), DD_TEST_KEYS, fastRetry);
      const at = 1_800_000_000_000; // a multiple of 20 s: 60 s hold three closed buckets
      const before = dd.fake.calls.length;
      const r = await source.read(q({ at, windowSeconds: 61 }));
      assert.equal(r.kind, 'sample', JSON.stringify(r));
      if (r.kind !== 'sample') return;
      const { errors, requests, baselineErrors, baselineRequests } = r.sample;
      // [at - 61 s, at]: buckets at -80 (aligned to the rollup, so partly before the range), -60, -40; -20 still open.
      assert.deepEqual([errors, requests, baselineErrors, baselineRequests], [9, 300, 27, 2700]);
      const calls = dd.fake.calls.slice(before);
      assert.equal(calls.length, 4);
      for (const c of calls) assert.deepEqual(rangeOf(c), [at / 1000 - 61, at / 1000]);
    });

    test('staging: the baseline is the environment over the pre-deploy window before readiness', async () => {
      perBucket({ errors: 1, hits: 50, baseErrors: 2, baseHits: 100 });
      const source = createDatadogSource(countSettings(), DD_TEST_KEYS, fastRetry);
      const readyAt = 1_800_000_000_000;
      const at = readyAt + 3_600_000;
      const before = dd.fake.calls.length;
      const r = await source.read(q({ environment: 'staging', target: 'staging', readyAt, at, windowSeconds: 60 }));
      assert.equal(r.kind, 'sample', JSON.stringify(r));
      const calls = dd.fake.calls.slice(before);
      assert.equal(calls.length, 4);
      const baselineCalls = calls.filter((c) => !c.query.get('query')!.includes('version:'));
      assert.equal(baselineCalls.length, 2);
      for (const c of baselineCalls) assert.deepEqual(rangeOf(c), [readyAt / 1000 - 600, readyAt / 1000]);
      for (const c of calls.filter((c) => c.query.get('query')!.includes('version:v2')))
        assert.deepEqual(rangeOf(c), [at / 1000 - 60, at / 1000]);
      if (r.kind === 'sample') assert.deepEqual([r.sample.baselineErrors, r.sample.baselineRequests], [58, 2900]);
    });

    test('no points at all is missing data, never zero', async () => {
      dd.series = (query) => (query.includes('.errors{') ? undefined : [[Date.now(), 10]]);
      const r = await createDatadogSource(countSettings(), DD_TEST_KEYS, fastRetry).read(q({ windowSeconds: 60 }));
      assert.equal(r.kind, 'missing');
      assert.match((r as { reason: string }).reason, /no data for errors, baselineErrors of production/);
    });

    test('through the watch activity: a canary at 10× its stable version is rolled back with the statistic', async () => {
      perBucket({ errors: 20, hits: 100, baseErrors: 18, baseHits: 900 });
      const r = await watchCanary({ datadog: countSettings() }, { sequential: true });
      assert.equal(r.outcome, 'breach', JSON.stringify(r));
      if (r.outcome !== 'breach') return;
      assert.match(r.test ?? '', /likelihood ratio .* ≥ 1\/α/);
      assert.equal(r.sample.baselineRequests! > 0 && r.sample.errors! > 0, true);
    });
  });
});
