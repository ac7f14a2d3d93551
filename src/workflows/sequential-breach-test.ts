// The sequential breach test: decides a rollback from error COUNTS so that, however often samples
// arrive and however long a watch lasts, a healthy version is rolled back with probability at most
// α. Pure and deterministic (workflow code): no Math.random, no Date, no I/O; the state is a small
// plain object that survives continue-as-new.
//
// Hypotheses, with r = (new version's error rate) / (baseline's error rate) and
// r0 = 1 + rollback.thresholdPercent / 100:   H0: r ≤ r0 (healthy)   H1: r > r0 (breach).
//
// Method: a mixture sequential probability ratio test (mSPRT; Robbins 1970, "Statistical methods
// related to the law of the iterated logarithm", Ann. Math. Statist. 41:1397; Johari, Pekelis &
// Walsh 2017, "Always valid inference: continuous monitoring of A/B tests", arXiv:1512.04922).
// For each alternative θ on a fixed grid, L_θ(n) is the product over samples of per-sample
// likelihood ratios against the null boundary; Λ(n) = Σ w_θ L_θ(n) with fixed weights Σ w_θ = 1.
// Each per-sample factor has conditional expectation ≤ 1 under every r ≤ r0 (shown per mode
// below), so Λ is a non-negative supermartingale with Λ(0) = 1 and Ville's inequality gives
// P(sup_n Λ(n) ≥ 1/α) ≤ α: rejecting the first time Λ ≥ 1/α is valid at ANY stopping time, for any
// cadence and any number of looks.
//
// Two modes:
// - 'concurrent' (canary, approval wait): the new version and its baseline over the SAME disjoint
//   interval. Model: errors are Poisson with means n·λ_new and m·λ_base given the request counts
//   n, m. Given the interval's total t = x + y, the new version's count is
//   x ~ Binomial(t, p(r)) with p(r) = n·r / (n·r + m)  (conditional binomial; exact for Poisson,
//   and close for binomial errors at rates of a few percent). With r_θ = r0·e^θ and p0 = p(r0):
//     ln L = x·ln(p_θ/p0) + y·ln((1−p_θ)/(1−p0)) = x·θ − t·ln(1 + p0·(e^θ − 1)).
//   Supermartingale: E[L | t] = (p·p_θ/p0 + (1−p)(1−p_θ)/(1−p0))^t, linear in the true p, equal
//   to 1 at p = p0 and increasing in p (p_θ > p0), so ≤ 1 whenever p ≤ p0, i.e. r ≤ r0. The rates
//   themselves may change from interval to interval (diurnal traffic, a shared dependency failing
//   for both): only their ratio is tested.
// - 'pre-deploy' (staging bake, production watch after the full rollout): one fixed baseline
//   (errors E0 over N0 requests, measured before the deploy) with its own noise. Half the α goes to
//   an exact upper bound U on the baseline rate (Garwood, src/common/poisson-bound.ts:
//   P(λ_base > U) ≤ α/2), the other half to a one-sample Poisson mSPRT of the new version's counts
//   against λ0 = r0·U:  ln L = x·θ − n·λ0·(e^θ − 1)  (λ_θ = λ0·e^θ). Under λ_new ≤ λ0,
//   E[L] = exp(n·λ0·(e^θ − 1)·(λ_new/λ0 − 1)) ≤ 1. If the bound holds, H0 implies λ_new ≤ λ0; a
//   union bound gives P(false breach) ≤ α/2 + α/2.
//
// The grid: θ_k = 0.02·1.4^k, k = 0..18 (ratios from 1.02·r0 to about e^8.5·r0 ≈ 5,000·r0),
// geometric in θ because the evidence needed to tell θ from 0 grows like 1/θ²: a 40 % step costs
// at most a few percent of the evidence, and equal weights cost ln 19 ≈ 2.9 nats of it. The
// largest ratios make the fast path for gross regressions: an outage's first sample already
// carries enough evidence at those grid points, inside the same α (no separate rule such as
// "10 errors and 3× the baseline", which would spend α the budget does not have).
//
// Assumptions (docs/monitoring.md): errors independent given the rates (Poisson); intervals
// disjoint; request counts not chosen by looking at the errors. Version-specific bursts beyond
// Poisson noise are evidence of a difference, and the test treats them as such.
import { formatCount } from '../common/format';
import { poissonUpperBound } from '../common/poisson-bound';

/** θ = ln(r / r0) at which the mixture puts its weight; equal weights. */
export const GRID_THETAS: readonly number[] = Array.from({ length: 19 }, (_, k) => 0.02 * 1.4 ** k);
const LOG_WEIGHT = -Math.log(GRID_THETAS.length);
const EXPM1_THETAS = GRID_THETAS.map((t) => Math.expm1(t));

/**
 * How `rollback.falseRollbackRate` (default 0.01, for a whole promotion) is split between the
 * three watches, each its own test (union bound: the shares add up to the whole).
 * The canary test runs on through the approval wait: one test, one share.
 */
export const WATCH_SHARES = { staging: 1 / 3, canary: 1 / 3, production: 1 / 3 } as const;
export type Watch = keyof typeof WATCH_SHARES;

/** The α of one watch's test. */
export function watchAlpha(falseRollbackRate: number, watch: Watch): number {
  return falseRollbackRate * WATCH_SHARES[watch];
}

export interface SequentialTestOptions {
  /** rollback.thresholdPercent: H0 is "at most this much above the baseline". */
  thresholdPercent: number;
  /** This test's probability of ever breaching a healthy version (watchAlpha). */
  alpha: number;
  /** Pre-deploy mode: the baseline's counts before the deploy. Absent: concurrent mode. */
  preDeployBaseline?: { errors: number; requests: number };
  /**
   * Pre-deploy mode: the baseline's upper bound is never below this rate (rollback.baselineFloor),
   * so a spotless staging baseline does not make a handful of errors a breach. Raising λ0 only
   * widens H0: the α guarantee holds.
   */
  baselineFloor?: number;
}

/** One disjoint interval. Concurrent mode needs the baseline's counts of the same interval. */
export interface CountSample {
  errors: number;
  requests: number;
  baselineErrors?: number;
  baselineRequests?: number;
}

/** Everything the test knows; JSON-serialisable, small (19 numbers of evidence plus totals). */
export interface SequentialTestState {
  mode: 'concurrent' | 'pre-deploy';
  thresholdPercent: number;
  alpha: number;
  /** Pre-deploy: the baseline's counts and the upper bound U on its rate at level α/2. */
  preDeploy?: { errors: number; requests: number; upperRate: number };
  samples: number;
  errors: number;
  requests: number;
  baselineErrors: number;
  baselineRequests: number;
  /** ln L_θ for each grid θ. */
  logLr: number[];
}

export interface Observation {
  state: SequentialTestState;
  verdict: 'breach' | 'continue';
  /** ln Λ, the log of the mixture likelihood ratio. */
  statistic: number;
  /** ln(1/α) for the SPRT (ln(2/α) in pre-deploy mode, whose bound took the other half). */
  threshold: number;
  /** Observed rate ratio new/baseline so far (pre-deploy: against the baseline's point estimate). */
  estimatedRatio: number;
  /** One line for people: counts, the ratio and the likelihood ratio against 1/α. */
  evidence: string;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function checkCounts(errors: unknown, requests: unknown, what: string): void {
  if (!isCount(errors)) throw new RangeError(`${what}errors must be a whole number ≥ 0, got ${String(errors)}`);
  if (!isCount(requests)) throw new RangeError(`${what}requests must be a whole number ≥ 0, got ${String(requests)}`);
  if (errors > requests) throw new RangeError(`${what}errors (${errors}) exceed ${what}requests (${requests})`);
}

export function createSequentialTest(opts: SequentialTestOptions): SequentialTestState {
  if (!(opts.thresholdPercent >= 0 && Number.isFinite(opts.thresholdPercent)))
    throw new RangeError(`thresholdPercent must be a number ≥ 0, got ${opts.thresholdPercent}`);
  if (!(opts.alpha > 0 && opts.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${opts.alpha}`);
  const base = {
    thresholdPercent: opts.thresholdPercent,
    alpha: opts.alpha,
    samples: 0,
    errors: 0,
    requests: 0,
    baselineErrors: 0,
    baselineRequests: 0,
    logLr: GRID_THETAS.map(() => 0),
  };
  const pre = opts.preDeployBaseline;
  if (!pre) return { mode: 'concurrent', ...base };
  checkCounts(pre.errors, pre.requests, 'pre-deploy baseline ');
  if (pre.requests === 0) throw new RangeError('pre-deploy baseline requests must be > 0: no baseline, no comparison');
  const upperRate = Math.max(poissonUpperBound(pre.errors, opts.alpha / 2) / pre.requests, opts.baselineFloor ?? 0);
  return { mode: 'pre-deploy', preDeploy: { ...pre, upperRate }, ...base };
}

const r0Of = (s: { thresholdPercent: number }) => 1 + s.thresholdPercent / 100;

/** The SPRT's own α: all of it (concurrent) or the half the baseline bound left (pre-deploy). */
const sprtAlpha = (s: SequentialTestState) => (s.mode === 'pre-deploy' ? s.alpha / 2 : s.alpha);

type LogLrs = { [k: number]: number; length: number };

// Typed copies for the hot loop, and the last conditional-binomial coefficients: consecutive
// intervals usually have the same traffic split, and ln(1 + p0·(e^θ − 1)) is the costly part.
const THETA = Float64Array.from(GRID_THETAS);
const EXPM1 = Float64Array.from(EXPM1_THETAS);
const LOG1P = new Float64Array(GRID_THETAS.length);
let log1pFor = NaN;

/**
 * Adds one interval's log-likelihood ratios to `logLr` in place (the hot loop; the benchmark
 * calls it directly on a typed array) and returns the largest ln L_θ after it (for `breaches`).
 * An interval without information (concurrent: no requests on one side, or no errors) adds 0.
 */
export function accumulate(
  logLr: LogLrs,
  mode: SequentialTestState['mode'],
  r0: number,
  x: number,
  n: number,
  y: number,
  m: number,
  lambda0: number,
): number {
  let max = -Infinity;
  const K = THETA.length;
  if (mode === 'pre-deploy') {
    const mu0 = n * lambda0;
    for (let k = 0; k < K; k++) {
      const v = (logLr[k] += x * THETA[k] - mu0 * EXPM1[k]);
      if (v > max) max = v;
    }
    return max;
  }
  const t = x + y;
  if (n > 0 && m > 0 && t > 0) {
    const p0 = (n * r0) / (n * r0 + m);
    if (p0 !== log1pFor) {
      for (let k = 0; k < K; k++) LOG1P[k] = Math.log1p(p0 * EXPM1[k]);
      log1pFor = p0;
    }
    for (let k = 0; k < K; k++) logLr[k] += x * THETA[k] - t * LOG1P[k];
  } // else the conditional binomial is degenerate (p0 ∈ {0, 1} or t = 0): L = 1
  for (let k = 0; k < K; k++) if (logLr[k] > max) max = logLr[k];
  return max;
}

/** ln Σ w_θ L_θ, computed without overflow. */
export function mixtureLogLr(logLr: LogLrs): number {
  let max = -Infinity;
  for (let k = 0; k < logLr.length; k++) if (logLr[k] > max) max = logLr[k];
  let sum = 0;
  for (let k = 0; k < logLr.length; k++) sum += Math.exp(logLr[k] - max);
  return max + Math.log(sum) + LOG_WEIGHT;
}

/**
 * Whether ln Λ ≥ `threshold`. Exactly `mixtureLogLr(logLr) >= threshold`, but skips the
 * exponentials while every ln L_θ is below the threshold (Λ ≤ max L_θ because the weights sum to 1).
 * `max`: the largest ln L_θ, when `accumulate` just returned it.
 */
export function breaches(logLr: LogLrs, threshold: number, max = maxOf(logLr)): boolean {
  return max >= threshold && mixtureLogLr(logLr) >= threshold;
}

function maxOf(logLr: LogLrs): number {
  let max = -Infinity;
  for (let k = 0; k < logLr.length; k++) if (logLr[k] > max) max = logLr[k];
  return max;
}

/** The breach threshold on ln Λ for this state. */
export function breachThreshold(state: SequentialTestState): number {
  return -Math.log(sprtAlpha(state));
}

const fmt = formatCount;
const pct = (errors: number, requests: number) => (requests > 0 ? `${((100 * errors) / requests).toFixed(3)}%` : '–');
const big = (x: number) =>
  x >= 1e6 ? x.toExponential(2) : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2);

/** Takes one interval into account. Pure: returns the next state, the argument is unchanged. */
export function observe(state: SequentialTestState, sample: CountSample): Observation {
  checkCounts(sample.errors, sample.requests, '');
  const concurrent = state.mode === 'concurrent';
  const y = sample.baselineErrors ?? 0;
  const m = sample.baselineRequests ?? 0;
  if (concurrent) {
    if (sample.baselineErrors === undefined || sample.baselineRequests === undefined)
      throw new RangeError(
        'baselineErrors and baselineRequests are required: this test compares with the baseline of the same interval',
      );
    checkCounts(y, m, 'baseline');
  }
  const r0 = r0Of(state);
  const logLr = [...state.logLr];
  const lambda0 = state.preDeploy ? r0 * state.preDeploy.upperRate : 0;
  accumulate(logLr, state.mode, r0, sample.errors, sample.requests, y, m, lambda0);
  const next: SequentialTestState = {
    ...state,
    samples: state.samples + 1,
    errors: state.errors + sample.errors,
    requests: state.requests + sample.requests,
    baselineErrors: state.baselineErrors + (concurrent ? y : 0),
    baselineRequests: state.baselineRequests + (concurrent ? m : 0),
    logLr,
  };
  const statistic = mixtureLogLr(logLr);
  const threshold = breachThreshold(next);
  const verdict = statistic >= threshold ? 'breach' : 'continue';
  const [be, br] = next.preDeploy
    ? [next.preDeploy.errors, next.preDeploy.requests]
    : [next.baselineErrors, next.baselineRequests];
  const newRate = next.requests > 0 ? next.errors / next.requests : 0;
  const baseRate = br > 0 ? be / br : 0;
  const estimatedRatio = baseRate > 0 ? newRate / baseRate : newRate > 0 ? Infinity : 1;
  const bound = next.preDeploy
    ? `, its upper bound ${(100 * next.preDeploy.upperRate).toFixed(3)}% at ${(100 * (1 - next.alpha / 2)).toFixed(2)}% confidence`
    : '';
  const evidence =
    `${fmt(next.errors)} errors / ${fmt(next.requests)} requests (${pct(next.errors, next.requests)}) vs ` +
    `${next.preDeploy ? 'pre-deploy' : 'baseline'} ${fmt(be)} / ${fmt(br)} (${pct(be, br)}${bound}) over ${next.samples} sample${next.samples === 1 ? '' : 's'}: ` +
    `ratio ${Number.isFinite(estimatedRatio) ? estimatedRatio.toFixed(2) : '∞'}× (threshold ${r0.toFixed(2)}×); ` +
    `likelihood ratio ${big(Math.exp(statistic))} ${verdict === 'breach' ? '≥' : '<'} 1/α = ${big(Math.exp(threshold))}`;
  return { state: next, verdict, statistic, threshold, estimatedRatio, evidence };
}

export interface VerdictTraffic {
  /** The true rise to detect, percent (e.g. 100: twice the baseline). Must exceed the threshold. */
  risePercent: number;
  /** Baseline error rate; default: the pre-deploy rate, or the baseline's so far. */
  baselineRate?: number;
  /** Concurrent mode: new-version requests per baseline request (canary 10 % : 90 % → 1/9); default: so far. */
  requestRatio?: number;
}

/**
 * About how many new-version requests a version whose error rate is (1 + rise) × the baseline's
 * needs before this test breaches, from the state's start (typical, not a bound: the
 * expected log-likelihood ratio of the best grid point alone reaches the threshold; the mixture
 * is at least w·L_θ, so it is there by then in about half of the runs). Infinity when no traffic
 * can do it (a rise not above the threshold, a zero baseline rate in concurrent mode). For
 * "not enough traffic to judge: N requests".
 */
export function requestsForVerdict(state: SequentialTestState, t: VerdictTraffic): number {
  const r0 = r0Of(state);
  const rho = 1 + t.risePercent / 100;
  if (!(rho > r0)) return Infinity;
  const need = breachThreshold(state) - LOG_WEIGHT;
  let perRequest: (k: number) => number;
  if (state.preDeploy) {
    const lambdaB = t.baselineRate ?? state.preDeploy.errors / state.preDeploy.requests;
    const lambda1 = rho * lambdaB;
    const lambda0 = r0 * state.preDeploy.upperRate;
    perRequest = (k) => lambda1 * GRID_THETAS[k] - lambda0 * EXPM1_THETAS[k];
  } else {
    const lambdaB = t.baselineRate ?? (state.baselineRequests > 0 ? state.baselineErrors / state.baselineRequests : 0);
    const q = t.requestRatio ?? (state.baselineRequests > 0 ? state.requests / state.baselineRequests : 0);
    if (!(lambdaB > 0) || !(q > 0)) return Infinity;
    const lambda1 = rho * lambdaB;
    const p0 = (q * r0) / (q * r0 + 1);
    // Per new-version request: λ1 new errors and λB/q baseline errors expected.
    perRequest = (k) => lambda1 * GRID_THETAS[k] - (lambda1 + lambdaB / q) * Math.log1p(p0 * EXPM1_THETAS[k]);
  }
  let best = Infinity;
  for (let k = 0; k < GRID_THETAS.length; k++) {
    const drift = perRequest(k);
    if (drift > 0) best = Math.min(best, need / drift);
  }
  return Number.isFinite(best) ? Math.ceil(best) : Infinity;
}
