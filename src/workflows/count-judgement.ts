// One sample with counts, judged by its watch's sequential breach test: used by the workflow's
// monitor (samples by signal) and by the watch activity (samples from a metrics source), so both
// judge alike and hand the same test state on. Pure and deterministic.
import type { BreachRule } from './breach-rule';
import type { ErrorRateSample } from './messages';
import {
  createSequentialTest,
  observe,
  requestsForVerdict,
  watchAlpha,
  type Observation,
  type SequentialTestState,
  type Watch,
} from './sequential-breach-test';

/** rollback.falseRollbackRate for policies evaluated before it existed. */
export const DEFAULT_FALSE_ROLLBACK_RATE = 0.01;

export type CountJudgement =
  /** No requests, no pre-deploy baseline yet, or a canary sample without its stable version's counts. */
  | { kind: 'no-evidence'; test?: SequentialTestState }
  | {
      kind: 'judged';
      test: SequentialTestState;
      observation: Observation;
      /** The figures a breach is recorded with. */
      baselineUsed: number;
      risePercent: number;
    };

export const hasCounts = (s: ErrorRateSample) => s.errors !== undefined && s.requests !== undefined;

/**
 * `test`: the watch's test so far (absent: none yet). The canary's compares with the stable version
 * over the same interval; staging's and the production watch's with the first sample's pre-deploy
 * baseline counts, floored at rollback.baselineFloor.
 */
export function judgeCounts(
  test: SequentialTestState | undefined,
  watch: Watch,
  sample: ErrorRateSample,
  rule: BreachRule,
): CountJudgement {
  const { thresholdPercent } = rule;
  const alpha = watchAlpha(rule.falseRollbackRate ?? DEFAULT_FALSE_ROLLBACK_RATE, watch);
  const hasBaseline = sample.baselineErrors !== undefined && sample.baselineRequests !== undefined;
  let t = test;
  if (!t && watch === 'canary') t = createSequentialTest({ thresholdPercent, alpha });
  if (!t && hasBaseline && sample.baselineRequests! > 0)
    t = createSequentialTest({
      thresholdPercent,
      alpha,
      preDeployBaseline: { errors: sample.baselineErrors!, requests: sample.baselineRequests! },
      baselineFloor: rule.baselineFloor,
    });
  if (!t || !sample.requests || (t.mode === 'concurrent' && !hasBaseline)) return { kind: 'no-evidence', test };
  const observation = observe(t, {
    errors: sample.errors!,
    requests: sample.requests,
    ...(t.mode === 'concurrent'
      ? { baselineErrors: sample.baselineErrors, baselineRequests: sample.baselineRequests }
      : {}),
  });
  return {
    kind: 'judged',
    test: observation.state,
    observation,
    baselineUsed: baselineRateOf(observation.state),
    risePercent: risePercentOf(observation.state),
  };
}

/** The baseline's rate the test compares with (pre-deploy, or the stable version's so far). */
export function baselineRateOf(s: SequentialTestState): number {
  const base = s.preDeploy ?? { errors: s.baselineErrors, requests: s.baselineRequests };
  return base.requests > 0 ? base.errors / base.requests : 0;
}

/** The new version's rate over the baseline's so far, as a rise in percent (∞: errors over a spotless baseline). */
export function risePercentOf(s: SequentialTestState): number {
  const rate = s.requests > 0 ? s.errors / s.requests : 0;
  const base = baselineRateOf(s);
  if (base > 0) return (rate / base - 1) * 100;
  return rate > 0 ? Infinity : 0;
}

/** The rise a watch must have had the traffic to catch: a doubling of the error rate. */
export const JUDGEABLE_RISE_PERCENT = 100;

export interface EvidenceShortfall {
  /** New-version requests the watch's test saw. */
  requests: number;
  /** About how many it needs to catch a doubling (requestsForVerdict; Infinity: never, at this baseline). */
  needed: number;
}

/**
 * Whether a watch's test saw too little traffic to have caught a doubling of the error rate. The
 * baseline rate is taken at least rollback.baselineFloor: a spotless baseline is not "nothing to
 * catch". Undefined when it saw enough.
 */
export function evidenceShortfall(test: SequentialTestState, baselineFloor: number): EvidenceShortfall | undefined {
  const needed = requestsForVerdict(test, {
    risePercent: JUDGEABLE_RISE_PERCENT,
    baselineRate: Math.max(baselineRateOf(test), baselineFloor),
  });
  return test.requests >= needed ? undefined : { requests: test.requests, needed };
}
