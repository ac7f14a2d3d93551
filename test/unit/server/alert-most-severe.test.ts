// Which sample the alert webhook's one signal per promotion carries: the most severe of the request
// by the workflow's own breach rule, never a stale or inconclusive one when a usable one came.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mostSevere } from '../../../src/server/alert-webhook';
import { assessSample } from '../../../src/workflows/breach-rule';
import type { ErrorRateSample } from '../../../src/workflows/messages';

const rule = { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001 };
const START = Date.parse('2026-11-25T00:00:00Z');
const sample = (rate: number, o: Partial<ErrorRateSample> = {}): ErrorRateSample => ({
  environment: 'staging',
  rate,
  baseline: 0.01,
  requestCount: 1000,
  observedAt: '2026-11-25T01:00:00Z',
  ...o,
});

test('a conclusive breach beats a bigger rise on too few requests, and the biggest breach wins', () => {
  const samples = [
    sample(0.0101),
    sample(0.9, { requestCount: 5 }),
    sample(0.02),
    sample(0.3),
    sample(0.05, { baseline: 0.001 }),
  ];
  // 0.05 over 0.001 is +4,900 %, more than 0.3 over 0.01 (+2,900 %) though the rate is lower.
  assert.equal(mostSevere(samples, rule, START), 4);
  assert.equal(mostSevere(samples.slice(0, 4), rule, START), 3);
});

test('a healthy sample beats an inconclusive one (it is evidence); the highest healthy rise wins', () => {
  assert.equal(mostSevere([sample(0.5, { requestCount: 99 }), sample(0.0102), sample(0.0104)], rule, START), 2);
});

test('a sample observed before the promotion started is sent only when nothing newer came', () => {
  const old = sample(0.95, { observedAt: '2026-11-24T23:59:59Z' });
  assert.equal(mostSevere([old, sample(0.0101, { requestCount: 10 })], rule, START), 1);
  assert.equal(mostSevere([old, sample(0.5, { observedAt: '2026-11-24T00:00:00Z' })], rule, START), 0);
  // Without a start time every sample counts as fresh.
  assert.equal(mostSevere([sample(0.0101), old], rule), 1);
});

test('ties keep the payload order; newer wins only when all else is equal', () => {
  assert.equal(mostSevere([sample(0.02), sample(0.02), sample(0.02)], rule, START), 0);
  assert.equal(mostSevere([sample(0.02), sample(0.02, { observedAt: '2026-11-25T02:00:00Z' })], rule, START), 1);
});

test('the sample sent breaches under the rule exactly when some fresh sample of the request does', () => {
  const arb = fc.record({
    rate: fc.double({ min: 0, max: 1, noNaN: true }),
    baseline: fc.double({ min: 0, max: 1, noNaN: true }),
    requestCount: fc.integer({ min: 0, max: 1000 }),
    minutes: fc.integer({ min: -120, max: 120 }),
  });
  fc.assert(
    fc.property(fc.array(arb, { minLength: 1, maxLength: 50 }), (xs) => {
      const samples = xs.map((x) =>
        sample(x.rate, {
          baseline: x.baseline,
          requestCount: x.requestCount,
          observedAt: new Date(START + x.minutes * 60_000).toISOString(),
        }),
      );
      const fresh = samples.filter((s) => Date.parse(s.observedAt) >= START);
      const verdicts = (ss: ErrorRateSample[]) => ss.map((s) => assessSample(s, rule).verdict);
      const chosen = samples[mostSevere(samples, rule, START)];
      const chosenVerdict = assessSample(chosen, rule).verdict;
      assert.equal(chosenVerdict === 'breach' && fresh.includes(chosen), verdicts(fresh).includes('breach'));
      if (fresh.length) assert.ok(fresh.includes(chosen));
      if (!verdicts(fresh).includes('breach') && verdicts(fresh).includes('healthy'))
        assert.equal(chosenVerdict, 'healthy');
    }),
    { seed: 12, numRuns: 500 },
  );
});
