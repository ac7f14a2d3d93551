// Exact (Garwood) upper confidence bound on a Poisson mean, and the special functions under it.
// Pure and deterministic (no Math.random, no Date, no I/O): the sequential breach test runs it in
// workflow code. Short, referenced implementations rather than a dependency: the well-kept
// library that has them (@stdlib/math-base-special-gammaincinv) pulls in `debug` and ~20 packages,
// too much for the workflow bundle for three functions. Checked against scipy in
// test/unit/workflows/sequential-breach-test.test.ts.

// Lanczos approximation, g = 671/128, 14 terms: Press et al., Numerical Recipes 3rd ed. (2007),
// §6.1 `gammln`; relative error < 1e-15 for x > 0.
const LANCZOS = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199, 0.339946499848118887e-4,
  0.465236289270485756e-4, -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3,
  0.217439618115212643e-3, -0.16431810653676389e-3, 0.844182239838527433e-4, -0.261908384015814087e-4,
  0.368991826595316234e-5,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x must be > 0, got ${x}`);
  let y = x;
  const t = x + 671 / 128;
  const head = (x + 0.5) * Math.log(t) - t;
  let ser = 0.999999999999997092;
  for (const c of LANCZOS) ser += c / ++y;
  return head + Math.log((2.5066282746310005 * ser) / x);
}

const EPS = 1e-15;
const TINY = 1e-300;
const MAX_TERMS = 1_000_000;

/**
 * Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function, a > 0, x ≥ 0.
 * Series for x < a + 1, Lentz's continued fraction otherwise (Numerical Recipes 3rd ed., §6.2
 * `gser`/`gcf`); both converge in O(√a) terms, so counts in the millions stay fast.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`gammaQ: needs a > 0 and x >= 0, got a=${a}, x=${x}`);
  if (x === 0) return 1;
  const prefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let i = 0; i < MAX_TERMS; i++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(prefix);
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_TERMS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(prefix) * h;
}

/** P(X ≤ k) for X ~ Poisson(mean): Q(k + 1, mean). */
export function poissonCdf(k: number, mean: number): number {
  if (k < 0) return 0;
  return gammaQ(Math.floor(k) + 1, mean);
}

/**
 * The exact one-sided upper confidence bound on a Poisson mean after observing `count` events
 * (Garwood 1936, Biometrika 28:437): the mean U with P(X ≤ count | U) = `alpha`, so that
 * P(true mean > U) ≤ alpha. Equals chi2.ppf(1 − alpha, 2·count + 2) / 2. Bisection on the
 * monotone CDF (once per watch, so speed does not matter; 200 halvings reach float precision).
 */
export function poissonUpperBound(count: number, alpha: number): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number ≥ 0, got ${count}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (count === 0) return -Math.log(alpha);
  let lo = count;
  let hi = count + 10 * Math.sqrt(count) + 10 - Math.log(alpha);
  while (poissonCdf(count, hi) > alpha) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (poissonCdf(count, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
