// The per-sample breach rule, at its boundaries and as properties over random samples. It judges
// rate-only samples of promotions started before patch counts-only (README "The breach rule"), which
// still accept them until they end; everything else is judged by the sequential test
// (sequential-breach-test.test.ts has its boundaries).
import { test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assessSample } from '../../../src/workflows/breach-rule';

const rule = { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001 };
const sample = (rate: number, baseline: number, requestCount = 1000) => ({
  environment: 'production' as const,
  rate,
  baseline,
  requestCount,
  observedAt: '2026-11-25T00:00:00Z',
});

test('exactly +5 % over the baseline is healthy; anything above it is a breach', () => {
  assert.equal(assessSample(sample(0.0105, 0.01), rule).verdict, 'healthy');
  assert.equal(assessSample(sample(0.010501, 0.01), rule).verdict, 'breach');
  assert.equal(assessSample(sample(0.0106, 0.01), rule).verdict, 'breach');
  assert.equal(assessSample(sample(0.21, 0.2), rule).verdict, 'healthy');
  assert.equal(assessSample(sample(0.2101, 0.2), rule).verdict, 'breach');
});

test('the rise is relative to the baseline, not absolute percentage points', () => {
  // 0.1 % → 0.2 % is only 0.1 points but a 100 % rise: a breach.
  const a = assessSample(sample(0.002, 0.001), rule);
  assert.equal(a.verdict, 'breach');
  assert.ok(Math.abs(a.risePercent - 100) < 1e-9);
});

test('fewer than minRequestCount requests is inconclusive, never healthy and never a breach', () => {
  assert.equal(assessSample(sample(0.9, 0.01, 99), rule).verdict, 'inconclusive');
  assert.equal(assessSample(sample(0.0, 0.01, 99), rule).verdict, 'inconclusive');
  assert.equal(assessSample(sample(0.9, 0.01, 100), rule).verdict, 'breach');
});

test('a baseline under the floor is compared as the floor, so 0 → 0.01 % errors does not flap', () => {
  const a = assessSample(sample(0.00104, 0), rule);
  assert.equal(a.baselineUsed, 0.001);
  assert.equal(a.verdict, 'healthy');
  assert.equal(assessSample(sample(0.0011, 0), rule).verdict, 'breach');
});

test('a floor of 0 and a zero baseline: any error is a breach, none is healthy', () => {
  const noFloor = { ...rule, baselineFloor: 0 };
  assert.equal(assessSample(sample(0.0001, 0), noFloor).verdict, 'breach');
  assert.equal(assessSample(sample(0, 0), noFloor).verdict, 'healthy');
});

test('property: a breach stays a breach with a higher rate, and a conclusive healthy sample stays healthy with a lower rate', () => {
  const rate = fc.double({ min: 0, max: 1, noNaN: true });
  fc.assert(
    fc.property(
      rate,
      rate,
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.integer({ min: 0, max: 10_000 }),
      (r1, r2, baseline, n) => {
        const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
        const low = assessSample(sample(lo, baseline, n), rule).verdict;
        const high = assessSample(sample(hi, baseline, n), rule).verdict;
        if (n < rule.minRequestCount) return low === 'inconclusive' && high === 'inconclusive';
        if (low === 'breach') return high === 'breach';
        if (high === 'healthy') return low === 'healthy';
        return true;
      },
    ),
    { seed: 20261125, numRuns: 5000 },
  );
});
