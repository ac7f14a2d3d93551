// The breach rule, in one place (the README quotes it):
//   a sample is conclusive when requestCount >= rollback.minRequestCount;
//   baselineUsed = max(sample.baseline, rollback.baselineFloor);
//   rise% = (rate - baselineUsed) / baselineUsed * 100;
//   breach when a conclusive sample has rise% > rollback.thresholdPercent (strictly more).
// Pure and deterministic: used by the workflow's signal handler.
import type { PromotionSettings } from '../policy/config/schema';
import type { ErrorRateSample } from './messages';

export type Verdict = 'breach' | 'healthy' | 'inconclusive';

export interface Assessment {
  verdict: Verdict;
  baselineUsed: number;
  risePercent: number;
}

// Float arithmetic must not turn "exactly 5 %" into a breach: 0.0105 vs 0.01 computes to 5.000000000000004.
const EPSILON_PERCENT = 1e-9;

/** The parts of the policy's rollback section the breach rule reads. */
export type BreachRule = Pick<
  PromotionSettings['rollback'],
  'thresholdPercent' | 'minRequestCount' | 'baselineFloor'
> & {
  /** The sequential test's α for a whole promotion (absent in policies evaluated before it). */
  falseRollbackRate?: number;
};

export function assessSample(sample: ErrorRateSample, rollback: BreachRule): Assessment {
  const baselineUsed = Math.max(sample.baseline, rollback.baselineFloor);
  const risePercent =
    baselineUsed > 0 ? ((sample.rate - baselineUsed) / baselineUsed) * 100 : sample.rate > 0 ? Infinity : 0;
  if (sample.requestCount < rollback.minRequestCount) return { verdict: 'inconclusive', baselineUsed, risePercent };
  const verdict = risePercent > rollback.thresholdPercent + EPSILON_PERCENT ? 'breach' : 'healthy';
  return { verdict, baselineUsed, risePercent };
}
