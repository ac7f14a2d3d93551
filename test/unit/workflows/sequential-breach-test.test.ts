// The sequential breach test: its numbers against scipy, its boundaries, and its error rates as
// properties over many seeded streams.
//
// Reference values were computed with scipy 1.17.1 (Python 3.11) in a throwaway venv:
//   python3 -m venv /tmp/scipy && /tmp/scipy/bin/pip install scipy && /tmp/scipy/bin/python ref.py
// where ref.py is (its output is pasted next to each assertion):
//
//   import numpy as np
//   from scipy import special, stats
//   from scipy.special import logsumexp
//   thetas = 0.02 * 1.4 ** np.arange(19)
//   logw = -np.log(19)
//   print('gammaln', [repr(float(special.gammaln(x))) for x in (0.5, 1.0, 10.3, 1e6)])
//   print('gammaincc', [repr(float(special.gammaincc(a, x))) for a, x in ((3, 2.5), (0.5, 0.1), (101, 80), (1e5 + 1, 1.01e5))])
//   for k, a in ((0, 0.05), (1, 0.025), (10, 0.025), (1000, 0.01 / 6), (100000, 0.01 / 6)):
//       print('upper', k, a, repr(float(stats.chi2.ppf(1 - a, 2 * k + 2) / 2)))
//   # concurrent: conditional binomial, directly from binomial log-pmfs
//   r0 = 1.05
//   samples = [(7, 1000, 60, 9000), (12, 1000, 95, 9000), (3, 500, 41, 8000), (0, 1000, 0, 9000), (25, 1200, 70, 9100)]
//   ll = np.zeros(19)
//   for x, n, y, m in samples:
//       t = x + y
//       if t == 0: continue
//       p0 = n * r0 / (n * r0 + m)
//       pth = n * r0 * np.exp(thetas) / (n * r0 * np.exp(thetas) + m)
//       ll += stats.binom.logpmf(x, t, pth) - stats.binom.logpmf(x, t, p0)
//   print('concurrent logLambda', repr(float(logsumexp(ll + logw))), 'max logL', repr(float(ll.max())))
//   # pre-deploy: Garwood bound at alpha/2 then Poisson log-pmfs
//   alpha = 0.01 / 3
//   E0, N0 = 180, 18000
//   U = stats.chi2.ppf(1 - alpha / 2, 2 * E0 + 2) / 2 / N0
//   lam0 = r0 * U
//   ll = np.zeros(19)
//   for x, n in [(9, 600), (15, 600), (4, 300), (30, 900)]:
//       ll += stats.poisson.logpmf(x, n * lam0 * np.exp(thetas)) - stats.poisson.logpmf(x, n * lam0)
//   print('pre-deploy upperRate', repr(float(U)), 'logLambda', repr(float(logsumexp(ll + logw))), 'threshold', repr(float(np.log(2 / alpha))))
//   # zero baseline errors: new-only errors (10 % canary share, 1 error per interval) until ln Λ >= ln(1/α)
//   alpha = 0.01 / 3
//   ll = np.zeros(19)
//   for i in range(1, 50):
//       p0 = 100 * r0 / (100 * r0 + 900)
//       pth = 100 * r0 * np.exp(thetas) / (100 * r0 * np.exp(thetas) + 900)
//       ll += stats.binom.logpmf(1, 1, pth) - stats.binom.logpmf(1, 1, p0)
//       if logsumexp(ll + logw) >= np.log(1 / alpha):
//           print('zero-baseline breach at error', i, repr(float(logsumexp(ll + logw))))
//           break
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gammaQ, logGamma, poissonUpperBound } from '../../../src/common/poisson-bound';
import {
  accumulate,
  createSequentialTest,
  GRID_THETAS,
  observe,
  requestsForVerdict,
  watchAlpha,
  WATCH_SHARES,
  type CountSample,
  type SequentialTestState,
} from '../../../src/workflows/sequential-breach-test';
import { PoissonSampler, Random } from '../../../bench/lib/poisson-sampler';

const close = (actual: number, expected: number, rel = 1e-10) =>
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)),
    `${actual} is not within ${rel} (relative) of ${expected}`,
  );

const run = (state: SequentialTestState, samples: CountSample[]) => {
  let o = observe(state, samples[0]);
  for (const s of samples.slice(1)) o = observe(o.state, s);
  return o;
};

const concurrent = (alpha = watchAlpha(0.01, 'canary')) => createSequentialTest({ thresholdPercent: 5, alpha });

describe('numbers against scipy', () => {
  test('ln Γ (scipy.special.gammaln)', () => {
    close(logGamma(0.5), 0.5723649429247, 1e-13);
    close(logGamma(1), 0, 1e-13);
    close(logGamma(10.3), 13.482036786138359, 1e-13);
    close(logGamma(1e6), 12815504.569147611, 1e-13);
  });

  test('regularized upper incomplete gamma (scipy.special.gammaincc)', () => {
    close(gammaQ(3, 2.5), 0.5438131158833297, 1e-12);
    close(gammaQ(0.5, 0.1), 0.6547208460185768, 1e-12);
    close(gammaQ(101, 80), 0.9868311451240662, 1e-12);
    close(gammaQ(1e5 + 1, 1.01e5), 0.00081720781367724, 1e-8);
  });

  test('Garwood upper bound = chi2.ppf(1 − a, 2k + 2) / 2', () => {
    close(poissonUpperBound(0, 0.05), 2.9957322735539895, 1e-12);
    close(poissonUpperBound(1, 0.025), 5.571643390938898, 1e-10);
    close(poissonUpperBound(10, 0.025), 18.39035604201778, 1e-10);
    close(poissonUpperBound(1000, 0.01 / 6), 1096.4078597412158, 1e-10);
    close(poissonUpperBound(100000, 0.01 / 6), 100931.73509031394, 1e-10);
  });

  test('concurrent mode: ln Λ equals the mixture of conditional-binomial likelihood ratios (scipy.stats.binom)', () => {
    const o = run(concurrent(), [
      { errors: 7, requests: 1000, baselineErrors: 60, baselineRequests: 9000 },
      { errors: 12, requests: 1000, baselineErrors: 95, baselineRequests: 9000 },
      { errors: 3, requests: 500, baselineErrors: 41, baselineRequests: 8000 },
      { errors: 0, requests: 1000, baselineErrors: 0, baselineRequests: 9000 },
      { errors: 25, requests: 1200, baselineErrors: 70, baselineRequests: 9100 },
    ]);
    close(o.statistic, 1.5862151182423805, 1e-9);
    close(Math.max(...o.state.logLr), 3.259239233682996, 1e-9);
    close(o.threshold, Math.log(300), 1e-12);
    assert.equal(o.verdict, 'continue');
  });

  test('pre-deploy mode: the bound at α/2 and the Poisson mixture (scipy.stats.chi2, poisson) cross ln(2/α)', () => {
    const alpha = watchAlpha(0.01, 'staging');
    const s = createSequentialTest({ thresholdPercent: 5, alpha, preDeployBaseline: { errors: 180, requests: 18000 } });
    close(s.preDeploy!.upperRate, 0.012390865411144276, 1e-10);
    const o = run(s, [
      { errors: 9, requests: 600 },
      { errors: 15, requests: 600 },
      { errors: 4, requests: 300 },
      { errors: 30, requests: 900 },
    ]);
    close(o.statistic, 6.715277197042683, 1e-9);
    close(o.threshold, 6.396929655216146, 1e-12);
    assert.equal(o.verdict, 'breach');
    assert.match(o.evidence, /58 errors \/ 2,400 requests .* vs pre-deploy 180 \/ 18,000 .*≥ 1\/α = 600/);
  });
});

describe('the supermartingale property, exactly', () => {
  // E[L_θ] over one interval, summed over the whole distribution of the new version's count:
  // exactly 1 at the null boundary, below 1 inside the null, above 1 outside it, for every θ.
  const logChoose = (t: number, x: number) => logGamma(t + 1) - logGamma(x + 1) - logGamma(t - x + 1);
  const expectations = (p: number, t: number, n: number, m: number) =>
    GRID_THETAS.map((_, k) => {
      let e = 0;
      for (let x = 0; x <= t; x++) {
        const ll = new Float64Array(GRID_THETAS.length);
        accumulate(ll, 'concurrent', 1.05, x, n, t - x, m, 0);
        e += Math.exp(logChoose(t, x) + x * Math.log(p) + (t - x) * Math.log1p(-p) + ll[k]);
      }
      return e;
    });
  const pOf = (r: number, n: number, m: number) => (n * r) / (n * r + m);

  test('concurrent: E[L_θ | t] = 1 at r = r0, < 1 at r < r0, > 1 at r > r0', () => {
    for (const [t, n, m] of [
      [40, 1000, 9000],
      [7, 300, 200],
    ]) {
      for (const e of expectations(pOf(1.05, n, m), t, n, m)) close(e, 1, 1e-9);
      for (const e of expectations(pOf(0.9, n, m), t, n, m)) assert.ok(e < 1, `E = ${e} at r = 0.9`);
      for (const e of expectations(pOf(1.3, n, m), t, n, m)) assert.ok(e > 1, `E = ${e} at r = 1.3`);
    }
  });

  test('pre-deploy: E[L_θ] = 1 when the new rate is exactly r0 × the bound', () => {
    const lambda0 = 0.002;
    const n = 2000;
    for (let k = 0; k < GRID_THETAS.length; k += 6) {
      let e = 0;
      for (let x = 0; x <= 30_000; x++) {
        const ll = new Float64Array(GRID_THETAS.length);
        accumulate(ll, 'pre-deploy', 1.05, x, n, 0, 0, lambda0);
        e += Math.exp(x * Math.log(n * lambda0) - n * lambda0 - logGamma(x + 1) + ll[k]);
      }
      close(e, 1, 1e-9);
    }
  });
});

describe('boundaries', () => {
  test('no errors on either side is no evidence: ln Λ = 0, continue', () => {
    const o = run(
      concurrent(),
      Array.from({ length: 100 }, () => ({ errors: 0, requests: 6000, baselineErrors: 0, baselineRequests: 54000 })),
    );
    assert.equal(o.statistic, 0);
    assert.equal(o.verdict, 'continue');
  });

  test('zero baseline errors: the 4th new-version error breaches (scipy), the 3rd does not', () => {
    const s = Array.from({ length: 4 }, () => ({ errors: 1, requests: 100, baselineErrors: 0, baselineRequests: 900 }));
    assert.equal(run(concurrent(), s.slice(0, 3)).verdict, 'continue');
    const o = run(concurrent(), s);
    assert.equal(o.verdict, 'breach');
    close(o.statistic, 7.173364824053849, 1e-9);
    assert.equal(o.estimatedRatio, Infinity);
  });

  test('exactly at the threshold ratio never breaches, however much traffic', () => {
    // 105 errors per 10,000 requests against 100 per 10,000: r = 1.05 = r0 exactly, every interval.
    const o = run(
      concurrent(0.2),
      Array.from({ length: 2000 }, () => ({
        errors: 10_500,
        requests: 1_000_000,
        baselineErrors: 10_000,
        baselineRequests: 1_000_000,
      })),
    );
    assert.ok(o.statistic < 0, `ln Λ ${o.statistic} should be negative at r = r0`);
    assert.equal(o.verdict, 'continue');
    close(o.estimatedRatio, 1.05, 1e-12);
    // Just above it, the same traffic breaches.
    const above = run(concurrent(), [
      { errors: 12_000, requests: 1_000_000, baselineErrors: 10_000, baselineRequests: 1_000_000 },
    ]);
    assert.equal(above.verdict, 'breach');
  });

  test('tiny traffic: one failed request out of one is not a breach', () => {
    const o = observe(concurrent(), { errors: 1, requests: 1, baselineErrors: 0, baselineRequests: 9 });
    assert.equal(o.verdict, 'continue');
    const p = createSequentialTest({
      thresholdPercent: 5,
      alpha: 0.01 / 3,
      preDeployBaseline: { errors: 0, requests: 30 },
    });
    assert.equal(observe(p, { errors: 1, requests: 1 }).verdict, 'continue');
  });

  test('a side without requests carries no evidence (and no NaN)', () => {
    const o = run(concurrent(), [
      { errors: 0, requests: 0, baselineErrors: 50, baselineRequests: 5000 },
      { errors: 5, requests: 500, baselineErrors: 0, baselineRequests: 0 },
    ]);
    assert.equal(o.statistic, 0);
    assert.equal(o.state.samples, 2);
  });

  test('huge counts stay finite: no overflow, no NaN', () => {
    // 4 % against 2 %.
    const big = { errors: 4e9, requests: 1e11, baselineErrors: 1.8e10, baselineRequests: 9e11 };
    const o = run(concurrent(), [big, big, big]);
    assert.ok(Number.isFinite(o.statistic) && o.statistic > 1e6, `statistic ${o.statistic}`);
    assert.equal(o.verdict, 'breach');
    const healthy = run(concurrent(), [{ ...big, errors: 2e9 }]);
    assert.ok(Number.isFinite(healthy.statistic) && healthy.statistic < 0);
    const p = createSequentialTest({
      thresholdPercent: 5,
      alpha: 0.01 / 3,
      preDeployBaseline: { errors: 1e7, requests: 1e9 },
    });
    const q = observe(p, { errors: 5e8, requests: 1e10 });
    assert.ok(Number.isFinite(q.statistic) && q.verdict === 'breach');
    assert.ok(Number.isFinite(observe(p, { errors: 1e8, requests: 1e10 }).statistic));
  });

  test('bad counts are refused with the field and the reason; the state is untouched', () => {
    const s = concurrent();
    const before = JSON.stringify(s);
    assert.throws(
      () => observe(s, { errors: 5, requests: 4, baselineErrors: 0, baselineRequests: 9 }),
      /errors \(5\) exceed requests \(4\)/,
    );
    assert.throws(
      () => observe(s, { errors: -1, requests: 4, baselineErrors: 0, baselineRequests: 9 }),
      /errors must be a whole number/,
    );
    assert.throws(
      () => observe(s, { errors: 0.5, requests: 4, baselineErrors: 0, baselineRequests: 9 }),
      /errors must be a whole number/,
    );
    assert.throws(() => observe(s, { errors: 1, requests: 4 }), /baselineErrors and baselineRequests are required/);
    assert.throws(
      () => observe(s, { errors: 1, requests: 4, baselineErrors: 3, baselineRequests: 2 }),
      /baselineerrors \(3\) exceed baselinerequests \(2\)/,
    );
    assert.equal(JSON.stringify(s), before);
    assert.throws(
      () => createSequentialTest({ thresholdPercent: 5, alpha: 0.01, preDeployBaseline: { errors: 0, requests: 0 } }),
      /pre-deploy baseline requests must be > 0/,
    );
    assert.throws(() => createSequentialTest({ thresholdPercent: 5, alpha: 1 }), /alpha must be in \(0, 1\)/);
  });

  test('the state is plain data: a JSON round trip (continue-as-new) continues identically', () => {
    const samples = [
      { errors: 30, requests: 3000, baselineErrors: 200, baselineRequests: 27000 },
      { errors: 45, requests: 3000, baselineErrors: 250, baselineRequests: 27000 },
    ];
    const a = run(concurrent(), samples);
    const b = observe(JSON.parse(JSON.stringify(observe(concurrent(), samples[0]).state)), samples[1]);
    assert.deepEqual(b, a);
  });

  test('the α budget: three watches whose shares add up to the promotion false-rollback rate', () => {
    close(
      Object.values(WATCH_SHARES).reduce((a, b) => a + b, 0),
      1,
      1e-15,
    );
    close(watchAlpha(0.01, 'staging') + watchAlpha(0.01, 'canary') + watchAlpha(0.01, 'production'), 0.01, 1e-15);
    assert.equal(GRID_THETAS.length, 19);
  });
});

describe('requests needed for a verdict', () => {
  test('none at or under the threshold; fewer for larger rises; a deterministic stream at that rise breaches near it', () => {
    const s = concurrent();
    const at = { baselineRate: 0.01, requestRatio: 1 / 9 };
    assert.equal(requestsForVerdict(s, { risePercent: 5, ...at }), Infinity);
    assert.equal(requestsForVerdict(s, { risePercent: 25, baselineRate: 0, requestRatio: 1 / 9 }), Infinity);
    const n25 = requestsForVerdict(s, { risePercent: 25, ...at });
    const n100 = requestsForVerdict(s, { risePercent: 100, ...at });
    assert.ok(n100 < n25 && n25 < requestsForVerdict(s, { risePercent: 10, ...at }));
    // Counts exactly at expectation, 6,000 canary requests a minute at +25 %: the verdict comes
    // within one interval of the figure (it is the best grid point alone; the mixture is near it).
    let o = observe(s, { errors: 75, requests: 6000, baselineErrors: 540, baselineRequests: 54000 });
    while (o.verdict === 'continue')
      o = observe(o.state, { errors: 75, requests: 6000, baselineErrors: 540, baselineRequests: 54000 });
    assert.ok(Math.abs(o.state.requests - n25) <= 6000, `breached after ${o.state.requests}, figure ${n25}`);
  });

  test('pre-deploy: a spotless or thin baseline needs more traffic', () => {
    const alpha = watchAlpha(0.01, 'staging');
    const thin = createSequentialTest({
      thresholdPercent: 5,
      alpha,
      preDeployBaseline: { errors: 9, requests: 18000 },
    });
    const thick = createSequentialTest({
      thresholdPercent: 5,
      alpha,
      preDeployBaseline: { errors: 900, requests: 1_800_000 },
    });
    assert.ok(requestsForVerdict(thin, { risePercent: 100 }) > requestsForVerdict(thick, { risePercent: 100 }));
    // A +25 % rise is inside the thin baseline's uncertainty (its bound is ~2.4× the estimate).
    assert.equal(requestsForVerdict(thin, { risePercent: 25 }), Infinity);
  });
});

// ---- properties over seeded random streams ------------------------------------------------

/** Wilson score interval's lower end at z (99.9 % two-sided: 3.29). */
const wilsonLower = (k: number, n: number, z = 3.290526731491926) => {
  const p = k / n;
  const d = 1 + (z * z) / n;
  return (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
};

interface Stream {
  seed: number;
  baselineRate: number;
  /** New-version requests per interval, and the baseline's. */
  n: number;
  m: number;
  /** True ratio new/baseline. */
  ratio: number;
}

const streams = (ratio: fc.Arbitrary<number>) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    baselineRate: fc.double({ min: 0.0005, max: 0.08, noNaN: true }),
    n: fc.integer({ min: 50, max: 5000 }),
    m: fc.integer({ min: 200, max: 50000 }),
    ratio,
  });

/**
 * Runs a concurrent-mode stream of `intervals` samples; the rates swing by a common factor
 * (×0.5, ×1, ×2: diurnal traffic, a shared dependency) that the test must not mistake for a
 * difference. Returns the interval of the first breach, or 0.
 */
function breachAt(s: Stream, alpha: number, intervals: number): number {
  const random = new Random(s.seed);
  const swings = [0.5, 1, 2].map((f) => ({
    x: new PoissonSampler(s.n * s.baselineRate * f * s.ratio),
    y: new PoissonSampler(s.m * s.baselineRate * f),
  }));
  let state = concurrent(alpha);
  for (let i = 1; i <= intervals; i++) {
    const w = swings[Math.floor(i / 10) % 3];
    const o = observe(state, {
      errors: Math.min(s.n, w.x.draw(random)),
      requests: s.n,
      baselineErrors: Math.min(s.m, w.y.draw(random)),
      baselineRequests: s.m,
    });
    if (o.verdict === 'breach') return i;
    state = o.state;
  }
  return 0;
}

describe('properties', () => {
  // α = 0.05 per stream so that a broken bound shows in 1,500 runs: the observed false-breach
  // rate must be consistent with ≤ α (the 99.9 % Wilson lower bound of the rate is under α).
  const ALPHA = 0.05;
  const RUNS = 1000;

  test.each([
    ['at the threshold (r = r0 = 1.05)', fc.constant(1.05)],
    ['below it (r in [0.5, 1.05))', fc.double({ min: 0.5, max: 1.0499, noNaN: true })],
  ])('healthy concurrent streams %s breach at a rate consistent with α', (_, ratio) => {
    const runs = fc.sample(streams(ratio), { seed: 14, numRuns: RUNS });
    const breaches = runs.filter((s) => breachAt(s, ALPHA, 120) > 0).length;
    assert.ok(
      wilsonLower(breaches, RUNS) <= ALPHA,
      `${breaches}/${RUNS} healthy streams breached: more than α = ${ALPHA} at 99.9 % confidence`,
    );
  });

  test('healthy pre-deploy streams at r = r0 (baseline noise included) breach at a rate consistent with α', () => {
    const runs = fc.sample(streams(fc.constant(1.05)), { seed: 15, numRuns: RUNS });
    let breaches = 0;
    for (const s of runs) {
      const random = new Random(s.seed);
      const baseline = new PoissonSampler(30 * s.n * s.baselineRate).draw(random);
      let state = createSequentialTest({
        thresholdPercent: 5,
        alpha: ALPHA,
        preDeployBaseline: { errors: baseline, requests: 30 * s.n },
      });
      const x = new PoissonSampler(s.n * s.baselineRate * 1.05);
      for (let i = 0; i < 120; i++) {
        const o = observe(state, { errors: Math.min(s.n, x.draw(random)), requests: s.n });
        if (o.verdict === 'breach') {
          breaches++;
          break;
        }
        state = o.state;
      }
    }
    assert.ok(wilsonLower(breaches, RUNS) <= ALPHA, `${breaches}/${RUNS} breached`);
  });

  test('+100 % always breaches within 6 one-minute samples at 1 % errors, 100 rps canary vs 900 rps', () => {
    // requestsForVerdict puts the typical verdict at ~2 intervals of 6,000 requests; 6 is the bound.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const at = breachAt({ seed, baselineRate: 0.01, n: 6000, m: 54000, ratio: 2 }, watchAlpha(0.01, 'canary'), 6);
        return at >= 1 && at <= 6;
      }),
      { seed: 100, numRuns: 300 },
    );
  });
});
