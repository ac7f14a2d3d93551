// The error-rate monitor with counts: samples go to the watch's sequential breach test, whose state
// survives continue-as-new; rate-only samples keep the per-sample rule and are counted as such.
import { describe, expect, test } from 'vitest';
import { ErrorRateMonitor } from '../../../src/workflows/error-rate-monitor';
import type { ErrorRateSample } from '../../../src/workflows/messages';
import { errorRateSampleSchema, legacyErrorRateSampleSchema } from '../../../src/workflows/payload-schemas';
import { PoissonSampler, Random } from '../../../bench/lib/poisson-sampler';

const rule = { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001, falseRollbackRate: 0.01 };
const T0 = Date.parse('2026-11-27T00:00:00Z');
const MIN = 60_000;

/** A sample as the edge would pass it on: parsed, with the rates derived from the counts. */
function counts(
  environment: 'staging' | 'production',
  at: number,
  c: { errors: number; requests: number; baselineErrors?: number; baselineRequests?: number },
): ErrorRateSample {
  return errorRateSampleSchema.parse({ environment, observedAt: new Date(at).toISOString(), ...c });
}

/** One minute of canary traffic: 100 rps on the canary, 900 rps on the stable version. */
function canaryMinute(random: Random, newRate: number, baseRate: number, at: number) {
  const requests = 6_000;
  const baselineRequests = 54_000;
  return counts('production', at, {
    errors: new PoissonSampler(requests * newRate).draw(random),
    requests,
    baselineErrors: new PoissonSampler(baselineRequests * baseRate).draw(random),
    baselineRequests,
  });
}

describe('error-rate monitor: samples with counts go to the sequential breach test', () => {
  test('a healthy canary whose samples the per-sample rule would breach again and again is never rolled back', () => {
    const random = new Random(20261127);
    const seq = new ErrorRateMonitor(rule, true, undefined, true);
    const old = new ErrorRateMonitor(rule, true, undefined, false);
    for (const m of [seq, old]) m.deployed('production', T0);
    let oldBreaches = 0;
    for (let i = 1; i <= 150; i++) {
      const s = canaryMinute(random, 0.01, 0.01, T0 + i * MIN);
      expect(seq.observe(s, T0 + i * MIN)).toBeUndefined();
      if (old.observe(s, T0 + i * MIN)) oldBreaches++;
    }
    // Same stream: about 40 % of these samples are more than 5 % above their baseline by chance.
    expect(oldBreaches).toBeGreaterThan(30);
    expect(seq.summary.tests?.canary).toMatch(/over 150 samples/);
    expect(seq.summary.inconclusive).toBe(0);
  });

  test('a canary at twice the baseline is rolled back, with the statistic in the interruption', () => {
    const random = new Random(7);
    const m = new ErrorRateMonitor(rule, true, undefined, true);
    m.deployed('production', T0);
    let breach;
    let minutes = 0;
    while (!breach && minutes < 30) {
      minutes++;
      breach = m.observe(canaryMinute(random, 0.02, 0.01, T0 + minutes * MIN), T0 + minutes * MIN);
    }
    expect(breach?.kind).toBe('breach');
    expect(minutes).toBeLessThanOrEqual(5);
    if (breach?.kind !== 'breach') throw new Error('unreachable');
    expect(breach.risePercent).toBeGreaterThan(50);
    expect(breach.baselineUsed).toBeCloseTo(0.01, 2);
    expect(breach.test).toMatch(/likelihood ratio .* ≥ 1\/α = 300/);
  });

  test('staging is judged against its pre-deploy baseline, floored at rollback.baselineFloor', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true);
    m.deployed('staging', T0);
    // A spotless pre-deploy hour: without the floor one error in 1,000 requests would be a rise.
    const baseline = { baselineErrors: 0, baselineRequests: 60_000 };
    for (let i = 1; i <= 10; i++)
      expect(
        m.observe(counts('staging', T0 + i * MIN, { errors: 1, requests: 1_000, ...baseline }), T0 + i * MIN),
      ).toBeUndefined();
    expect(m.summary.tests?.staging).toMatch(/pre-deploy 0 \/ 60,000/);
    // Ten times the floor is a breach within minutes.
    let breach;
    for (let i = 11; i <= 20 && !breach; i++)
      breach = m.observe(counts('staging', T0 + i * MIN, { errors: 10, requests: 1_000, ...baseline }), T0 + i * MIN);
    expect(breach?.kind).toBe('breach');
  });

  test('after the full rollout production samples start the production watch’s own test', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true);
    m.deployed('production', T0);
    const canary = { errors: 60, requests: 6_000, baselineErrors: 540, baselineRequests: 54_000 };
    m.observe(counts('production', T0 + MIN, canary), T0 + MIN);
    m.deployed('production', T0 + 10 * MIN);
    const full = { errors: 600, requests: 60_000, baselineErrors: 600, baselineRequests: 60_000 };
    m.observe(counts('production', T0 + 11 * MIN, full), T0 + 11 * MIN);
    expect(Object.keys(m.summary.tests ?? {}).sort()).toEqual(['canary', 'production']);
    expect(m.summary.tests?.production).toMatch(/over 1 sample:/);
    // A late canary sample (measured before the full rollout) still belongs to the canary's test.
    m.observe(counts('production', T0 + 5 * MIN, canary), T0 + 12 * MIN);
    expect(m.summary.tests?.canary).toMatch(/over 2 samples/);
  });

  test('no requests, or a canary sample without its stable version’s counts, is no evidence', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true);
    m.deployed('production', T0);
    m.observe(
      counts('production', T0 + MIN, { errors: 0, requests: 0, baselineErrors: 3, baselineRequests: 900 }),
      T0 + MIN,
    );
    m.observe(counts('production', T0 + 2 * MIN, { errors: 3, requests: 600 }), T0 + 2 * MIN);
    expect(m.summary.inconclusive).toBe(2);
    // The silence clock still runs from readiness.
    expect(m.lastEvidence('production')).toBe(T0);
  });

  test('the test carries over continue-as-new: the same stream breaches at the same sample', () => {
    const stream = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 40 }, (_, i) => canaryMinute(random, 0.013, 0.01, T0 + (i + 1) * MIN));
    };
    const breachAt = (split: number | undefined) => {
      let m = new ErrorRateMonitor(rule, true, undefined, true);
      m.deployed('production', T0);
      const samples = stream(99);
      for (let i = 0; i < samples.length; i++) {
        if (i === split) m = new ErrorRateMonitor(rule, true, JSON.parse(JSON.stringify(m.state)));
        if (m.observe(samples[i], T0 + (i + 1) * MIN)) return i;
      }
      return undefined;
    };
    const whole = breachAt(undefined);
    expect(whole).toBeDefined();
    expect(breachAt(Math.floor(whole! / 2))).toBe(whole);
  });

  test('promotions from before counts-only: their rate-only samples keep the per-sample rule and are counted, so views can say so', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true);
    m.deployed('production', T0);
    const s = legacyErrorRateSampleSchema.parse({
      environment: 'production',
      rate: 0.0106,
      baseline: 0.01,
      requestCount: 1_000,
      observedAt: new Date(T0 + MIN).toISOString(),
    });
    expect(m.observe(s, T0 + MIN)?.kind).toBe('breach');
    expect(m.summary.rateOnly).toBe(1);
  });

  test('replaying an older promotion (no sequential test): counts are judged by the per-sample rule', () => {
    const m = new ErrorRateMonitor(rule, true);
    m.deployed('production', T0);
    const s = counts('production', T0 + MIN, {
      errors: 12,
      requests: 1_000,
      baselineErrors: 90,
      baselineRequests: 9_000,
    });
    expect(m.observe(s, T0 + MIN)?.kind).toBe('breach'); // 1.2 % vs 1 %: +20 %
    expect(m.summary.tests).toBeUndefined();
  });
});

describe('errorRate payload: counts only (rates as before for promotions started before counts-only)', () => {
  const at = '2026-11-27T00:01:00Z';
  const problemOf = (schema: typeof errorRateSampleSchema) => (raw: unknown) => {
    const r = schema.safeParse(raw);
    return r.success ? undefined : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  const problem = problemOf(errorRateSampleSchema);
  const legacyProblem = problemOf(legacyErrorRateSampleSchema);
  const SEND =
    'send counts instead: errors and requests over the interval since the last sample, and baselineErrors and baselineRequests';

  test('a rate-only sample is refused, naming its fields and saying what to send', () => {
    const old = { environment: 'staging', observedAt: at, rate: 0.0106, baseline: 0.01, requestCount: 1_000 };
    expect(problem(old)).toEqual([
      `rate: rate-only samples (rate, baseline, requestCount) are no longer accepted: ${SEND}`,
    ]);
    expect(problem({ environment: 'staging', observedAt: at, requestCount: 1_000 })).toEqual([
      `requestCount: rate-only samples (requestCount) are no longer accepted: ${SEND}`,
    ]);
    expect(problem({ environment: 'staging', observedAt: at })).toEqual([`errors: is required: ${SEND}`]);
    // The same sample, for a promotion started before counts-only: accepted as it was.
    expect(legacyProblem(old)).toBeUndefined();
    expect(legacyErrorRateSampleSchema.parse(old)).toMatchObject({ rate: 0.0106, baseline: 0.01, requestCount: 1_000 });
  });

  test('both schemas accept counts alike, and refuse the same bad counts', () => {
    const good = {
      environment: 'production',
      observedAt: at,
      errors: 3,
      requests: 600,
      baselineErrors: 27,
      baselineRequests: 5_400,
    };
    expect(legacyErrorRateSampleSchema.parse(good)).toEqual(errorRateSampleSchema.parse(good));
    const bad = { environment: 'staging', observedAt: at, errors: 7, requests: 5 };
    expect(legacyProblem(bad)).toEqual(problem(bad));
  });

  test('counts are accepted and the rates derived from them', () => {
    const s = errorRateSampleSchema.parse({
      environment: 'production',
      observedAt: at,
      errors: 3,
      requests: 600,
      baselineErrors: 27,
      baselineRequests: 5_400,
    });
    expect(s).toMatchObject({ rate: 0.005, baseline: 0.005, requestCount: 600, errors: 3 });
  });

  test('inconsistent counts are refused, naming the field', () => {
    expect(problem({ environment: 'staging', observedAt: at, errors: 7, requests: 5 })).toEqual([
      'errors: must not exceed requests (5)',
    ]);
    expect(problem({ environment: 'staging', observedAt: at, errors: 1, requests: 5, baselineErrors: 1 })).toEqual([
      'baselineRequests: baselineErrors and baselineRequests go together',
    ]);
    expect(problem({ environment: 'staging', observedAt: at, errors: 1.5, requests: 5 })?.[0]).toBe(
      'errors: must be a whole number',
    );
    expect(problem({ environment: 'staging', observedAt: at, requests: 5 })).toEqual([
      'errors: is required with requests',
    ]);
  });

  test('counts and rates together are refused: one set of figures', () => {
    expect(
      problem({
        environment: 'staging',
        observedAt: at,
        errors: 1,
        requests: 5,
        rate: 0.2,
        baseline: 0,
        requestCount: 5,
      }),
    ).toContain('rate: send counts or rates, not both: with counts the rates are computed');
  });

  test('before counts-only, a rate sample missing a field says what to send instead', () => {
    expect(legacyProblem({ environment: 'staging', observedAt: at, rate: 0.01, baseline: 0.01 })?.[0]).toMatch(
      /^requestCount: is required; better, send counts instead: errors and requests/,
    );
  });
});

describe('error-rate monitor: was there the traffic to judge a watch?', () => {
  const quietCanary = (m: ErrorRateMonitor, minutes: number, baselineErrors: number) => {
    m.deployed('production', T0);
    for (let i = 1; i <= minutes; i++)
      m.observe(
        counts('production', T0 + i * MIN, { errors: 0, requests: 20, baselineErrors, baselineRequests: 180 }),
        T0 + i * MIN,
      );
  };

  test('a quiet canary falls short, recorded with how many requests a doubling needs; enough traffic does not', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true, true);
    quietCanary(m, 30, 2);
    const s = m.trafficShortfall('canary');
    expect(s?.requests).toBe(600);
    expect(s?.needed).toBeGreaterThan(2_000);
    expect(m.summary.insufficient?.canary).toEqual(s);
    // The same canary for ten hours has seen the requests it needed.
    const long = new ErrorRateMonitor(rule, true, undefined, true, true);
    quietCanary(long, 600, 2);
    expect(long.trafficShortfall('canary')).toBeUndefined();
    expect(long.summary.insufficient).toBeUndefined();
  });

  test('a spotless stable version is judged at the baseline floor, not "nothing to catch"', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true, true);
    quietCanary(m, 30, 0);
    const s = m.trafficShortfall('canary');
    // At 0.1 % a doubling takes far more than at 1 %, but some finite amount of traffic does it.
    expect(s?.needed).toBeGreaterThan(20_000);
    expect(Number.isFinite(s?.needed)).toBe(true);
  });

  test('not judged: promotions started before the rule, watches with no counted samples, and across continue-as-new it stays on', () => {
    const before = new ErrorRateMonitor(rule, true, undefined, true, false);
    quietCanary(before, 30, 2);
    expect(before.trafficShortfall('canary')).toBeUndefined();
    const none = new ErrorRateMonitor(rule, true, undefined, true, true);
    none.deployed('staging', T0);
    expect(none.trafficShortfall('staging')).toBeUndefined();
    const m = new ErrorRateMonitor(rule, true, undefined, true, true);
    quietCanary(m, 30, 2);
    const continued = new ErrorRateMonitor(rule, true, m.state);
    expect(continued.trafficShortfall('canary')?.requests).toBe(600);
  });
});
