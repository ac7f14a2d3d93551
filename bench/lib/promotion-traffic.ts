// One simulated promotion's error counts, minute by minute, judged by the old per-sample rule
// (src/workflows/breach-rule.ts, as today: a 5-minute window polled each minute, silence after
// 10 minutes without a conclusive sample) and by the sequential test
// (src/workflows/sequential-breach-test.ts), fed the very same counts. For bench/decision-accuracy.ts.
import { assessSample, type BreachRule } from '../../src/workflows/breach-rule';
import type { ErrorRateSample } from '../../src/workflows/messages';
import {
  accumulate,
  breachThreshold,
  breaches,
  createSequentialTest,
  GRID_THETAS,
  watchAlpha,
  type SequentialTestState,
} from '../../src/workflows/sequential-breach-test';
import { evidenceShortfall } from '../../src/workflows/count-judgement';
import { PoissonSampler, type Random } from './poisson-sampler';

/** The promotion, in one-minute samples (the watch's default cadence). */
export const BAKE_MINUTES = 24 * 60;
export const CANARY_MINUTES = 30;
export const APPROVAL_WAIT_MINUTES = 120;
export const PRODUCTION_MINUTES = 30;
export const TOTAL_MINUTES = BAKE_MINUTES + CANARY_MINUTES + APPROVAL_WAIT_MINUTES + PRODUCTION_MINUTES;
/** Pre-deploy baselines are `[30m] @ readyAt` (docs/monitoring.md). */
const BASELINE_MINUTES = 30;
const OLD_WINDOW = 5;
const SILENCE_MINUTES = 10;

/** Policy defaults (src/policy/config/schema.ts) and the falseRollbackRate default. */
export const OLD_RULE: BreachRule = { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001 };
export const FALSE_ROLLBACK_RATE = 0.01;

export interface Setting {
  /** True error rate of the baseline (the old version). */
  rate: number;
  /** Production requests per second; the canary gets 10 %, staging 10 % of production. */
  rps: number;
}

/** `everywhere`: the regression shows in staging too; `production`: only in production (timed from the canary). */
export type Where = 'everywhere' | 'production';

export interface Outcome {
  /** Minutes from the first watched minute to the old rule's rollback; Infinity if none. */
  oldAt: number;
  oldSilence: boolean;
  newAt: number;
  /**
   * A watch ended (staging bake, canary watch, production watch) with too little traffic for its
   * test to have caught a doubling, before any breach: rollback.onInsufficientEvidence decides.
   */
  newShort: boolean;
}

/** Samplers for one setting and one true rise, built once and reused for every promotion. */
export class PromotionTraffic {
  private readonly perMinute: { staging: number; canary: number; stable: number; production: number };
  private readonly draw: Record<
    'staging' | 'stagingBaseline' | 'canary' | 'stable' | 'productionBaseline' | 'production',
    PoissonSampler
  >;
  private readonly stagingTests = new Map<number, SequentialTestState>();
  private readonly productionTests = new Map<number, SequentialTestState>();
  private readonly canaryTest: SequentialTestState;
  private readonly r0 = 1 + OLD_RULE.thresholdPercent / 100;
  private readonly ll = new Float64Array(GRID_THETAS.length);
  private readonly sample: ErrorRateSample = {
    environment: 'staging',
    rate: 0,
    baseline: 0,
    requestCount: 0,
    observedAt: '',
  };

  constructor(
    readonly setting: Setting,
    readonly rise: number,
    readonly where: Where,
  ) {
    const { rate, rps } = setting;
    const bad = rate * (1 + rise);
    const staging = rps * 0.1 * 60;
    const canary = rps * 0.1 * 60;
    const stable = rps * 0.9 * 60;
    const production = rps * 60;
    this.perMinute = { staging, canary, stable, production };
    const stagingRate = where === 'everywhere' ? bad : rate;
    this.draw = {
      staging: new PoissonSampler(staging * stagingRate),
      stagingBaseline: new PoissonSampler(BASELINE_MINUTES * staging * rate),
      canary: new PoissonSampler(canary * bad),
      stable: new PoissonSampler(stable * rate),
      // Production just before the rollout: the stable version and the canary together.
      productionBaseline: new PoissonSampler(BASELINE_MINUTES * (stable * rate + canary * bad)),
      production: new PoissonSampler(production * bad),
    };
    this.canaryTest = createSequentialTest({
      thresholdPercent: OLD_RULE.thresholdPercent,
      alpha: watchAlpha(FALSE_ROLLBACK_RATE, 'canary'),
    });
  }

  /** The pre-deploy test for a baseline count (memoised: its Garwood bound is a bisection). */
  private preDeployTest(
    cache: Map<number, SequentialTestState>,
    errors: number,
    requests: number,
    watch: 'staging' | 'production',
  ) {
    let s = cache.get(errors);
    if (!s) {
      s = createSequentialTest({
        thresholdPercent: OLD_RULE.thresholdPercent,
        alpha: watchAlpha(FALSE_ROLLBACK_RATE, watch),
        preDeployBaseline: { errors, requests },
        baselineFloor: OLD_RULE.baselineFloor,
      });
      cache.set(errors, s);
    }
    return s;
  }

  /** One promotion; stops as soon as both rules have decided. */
  run(random: Random): Outcome {
    const out: Outcome = { oldAt: Infinity, oldSilence: false, newAt: Infinity, newShort: false };
    const pm = this.perMinute;
    let minute = 0;
    const old = new OldRule(this.sample);
    if (this.where === 'everywhere') {
      const baselineRequests = BASELINE_MINUTES * pm.staging;
      const baselineErrors = this.draw.stagingBaseline.draw(random);
      const test = this.preDeployTest(this.stagingTests, baselineErrors, baselineRequests, 'staging');
      this.watchPreDeploy(random, out, old, test, 'staging', BAKE_MINUTES, minute, baselineErrors / baselineRequests);
      minute += BAKE_MINUTES;
      if (decided(out)) return out;
    }
    this.watchCanary(random, out, old, minute);
    minute += CANARY_MINUTES + APPROVAL_WAIT_MINUTES;
    if (decided(out)) return out;
    const baselineRequests = BASELINE_MINUTES * (pm.stable + pm.canary);
    const baselineErrors = this.draw.productionBaseline.draw(random);
    const test = this.preDeployTest(this.productionTests, baselineErrors, baselineRequests, 'production');
    this.watchPreDeploy(
      random,
      out,
      old,
      test,
      'production',
      PRODUCTION_MINUTES,
      minute,
      baselineErrors / baselineRequests,
    );
    return out;
  }

  private watchPreDeploy(
    random: Random,
    out: Outcome,
    old: OldRule,
    test: SequentialTestState,
    watch: 'staging' | 'production',
    minutes: number,
    start: number,
    baselineRate: number,
  ): void {
    const n = watch === 'staging' ? this.perMinute.staging : this.perMinute.production;
    const sampler = watch === 'staging' ? this.draw.staging : this.draw.production;
    const lambda0 = this.r0 * test.preDeploy!.upperRate;
    const threshold = breachThreshold(test);
    const ll = this.ll.fill(0);
    old.ready(watch);
    for (let t = 1; t <= minutes; t++) {
      const x = sampler.draw(random);
      if (out.newAt === Infinity) {
        const max = accumulate(ll, 'pre-deploy', this.r0, x, n, 0, 0, lambda0);
        if (breaches(ll, threshold, max)) out.newAt = start + t;
      }
      if (out.oldAt === Infinity) old.poll(out, start + t, x, n, baselineRate);
      if (decided(out)) return;
    }
    // Only the requests and the baseline matter to the shortfall, not the errors seen.
    if (out.newAt === Infinity && evidenceShortfall({ ...test, requests: minutes * n }, OLD_RULE.baselineFloor))
      out.newShort = true;
  }

  /** Canary watch and approval wait: one test against the stable version of the same minutes. */
  private watchCanary(random: Random, out: Outcome, old: OldRule, start: number): void {
    const { canary: n, stable: m } = this.perMinute;
    const threshold = breachThreshold(this.canaryTest);
    const ll = this.ll.fill(0);
    old.ready('production');
    let stableErrors = 0;
    for (let t = 1; t <= CANARY_MINUTES + APPROVAL_WAIT_MINUTES; t++) {
      const x = this.draw.canary.draw(random);
      const y = this.draw.stable.draw(random);
      stableErrors += y;
      // The canary's traffic is judged when its watch ends, before the approval wait.
      if (t === CANARY_MINUTES + 1 && out.newAt === Infinity) {
        const sofar = {
          requests: CANARY_MINUTES * n,
          baselineErrors: stableErrors - y,
          baselineRequests: CANARY_MINUTES * m,
        };
        if (evidenceShortfall({ ...this.canaryTest, ...sofar }, OLD_RULE.baselineFloor)) out.newShort = true;
      }
      if (out.newAt === Infinity) {
        const max = accumulate(ll, 'concurrent', this.r0, x, n, y, m, 0);
        if (breaches(ll, threshold, max)) out.newAt = start + t;
      }
      if (out.oldAt === Infinity) old.poll(out, start + t, x, n, undefined, y, m);
      if (decided(out)) return;
    }
  }
}

const decided = (o: Outcome) => o.oldAt !== Infinity && o.newAt !== Infinity;

/**
 * The rule of today: each minute, the rate over the last 5 minutes (fewer right after readiness)
 * against the pre-deploy rate (staging, production watch) or the stable version's rate over the
 * same 5 minutes (canary), through the real assessSample; silence after 10 minutes without a
 * conclusive sample, carried from canary to approval wait like the watch does.
 */
class OldRule {
  private readonly ring = new Float64Array(OLD_WINDOW * 4);
  private filled = 0;
  private lastConclusive = 0;

  constructor(private readonly sample: ErrorRateSample) {}

  ready(environment: 'staging' | 'production'): void {
    // Each watch's queries see only its own version's series; the silence clock starts at readiness.
    this.filled = 0;
    this.sample.environment = environment;
  }

  poll(out: Outcome, at: number, x: number, n: number, preDeployRate?: number, y = 0, m = 0): void {
    if (this.filled === 0) this.lastConclusive = at - 1;
    const slot = (this.filled++ % OLD_WINDOW) * 4;
    this.ring[slot] = x;
    this.ring[slot + 1] = n;
    this.ring[slot + 2] = y;
    this.ring[slot + 3] = m;
    let e = 0;
    let r = 0;
    let be = 0;
    let br = 0;
    for (let i = 0; i < Math.min(this.filled, OLD_WINDOW); i++) {
      e += this.ring[i * 4];
      r += this.ring[i * 4 + 1];
      be += this.ring[i * 4 + 2];
      br += this.ring[i * 4 + 3];
    }
    const s = this.sample;
    s.rate = r > 0 ? e / r : 0;
    s.baseline = preDeployRate ?? (br > 0 ? be / br : 0);
    s.requestCount = r;
    const a = assessSample(s, OLD_RULE);
    if (a.verdict === 'breach') out.oldAt = at;
    else if (a.verdict === 'healthy') this.lastConclusive = at;
    else if (at - this.lastConclusive >= SILENCE_MINUTES) {
      out.oldAt = at;
      out.oldSilence = true;
    }
  }
}
