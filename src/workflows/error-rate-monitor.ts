// Workflow-side bookkeeping of error-rate samples: which are fresh, which breach, and when each
// environment last gave conclusive evidence. Deterministic: time comes in as arguments.
import { assessSample, type BreachRule } from './breach-rule';
import type { Environment, ErrorRateEvidence, ErrorRateSample, ErrorRateSummary, Interruption } from './messages';

/** Everything a monitor knows, as data: what a run that continues as new hands to the next. */
export interface ErrorRateMonitorState {
  summary: ErrorRateSummary;
  readyAt: Partial<Record<Environment, number>>;
  firstReadyAt: Partial<Record<Environment, number>>;
  lastEvidenceAt: Partial<Record<Environment, number>>;
  judgeFromFirstReadiness: boolean;
}

const toMap = (r: Partial<Record<Environment, number>> = {}) =>
  new Map(Object.entries(r) as Array<[Environment, number]>);

export class ErrorRateMonitor {
  readonly summary: ErrorRateSummary;
  private readonly readyAt: Map<Environment, number>;
  private readonly lastEvidenceAt: Map<Environment, number>;

  private readonly firstReadyAt: Map<Environment, number>;

  /**
   * `judgeFromFirstReadiness`: a sample is about the new version if observed after it *first* ran in
   * the environment (the canary), so a breach seen during the canary and delivered after the full
   * rollout still counts. Off only when replaying promotions started before this rule.
   * `from`: the state of the previous run's monitor, when the promotion continued as new.
   */
  constructor(
    private readonly rollback: BreachRule,
    private readonly judgeFromFirstReadiness = false,
    from?: ErrorRateMonitorState,
  ) {
    this.summary = from ? { ...from.summary } : { samples: 0, inconclusive: 0, stale: 0 };
    this.readyAt = toMap(from?.readyAt);
    this.firstReadyAt = toMap(from?.firstReadyAt);
    this.lastEvidenceAt = toMap(from?.lastEvidenceAt);
  }

  /** The monitor as data; `new ErrorRateMonitor(rule, s.judgeFromFirstReadiness, s)` is the same monitor. */
  get state(): ErrorRateMonitorState {
    return {
      summary: { ...this.summary },
      readyAt: Object.fromEntries(this.readyAt),
      firstReadyAt: Object.fromEntries(this.firstReadyAt),
      lastEvidenceAt: Object.fromEntries(this.lastEvidenceAt),
      judgeFromFirstReadiness: this.judgeFromFirstReadiness,
    };
  }

  /** The change became ready in `environment` at `at`: older samples describe the old version. */
  deployed(environment: Environment, at: number): void {
    this.readyAt.set(environment, at);
    if (!this.firstReadyAt.has(environment)) this.firstReadyAt.set(environment, at);
    // The silence clock starts at readiness: the first sample is due within maxSilence of it.
    this.lastEvidenceAt.set(environment, at);
  }

  /** Records a sample received at workflow time `receivedAt`; returns the breach it proves, if any. */
  observe(sample: ErrorRateSample, receivedAt: number): Interruption | undefined {
    this.summary.samples++;
    this.summary.last = sample;
    const ready = (this.judgeFromFirstReadiness ? this.firstReadyAt : this.readyAt).get(sample.environment);
    if (ready === undefined || Date.parse(sample.observedAt) < ready) {
      this.summary.stale++;
      return undefined;
    }
    const a = assessSample(sample, this.rollback);
    if (a.verdict === 'inconclusive') {
      this.summary.inconclusive++;
      return undefined;
    }
    // Only a sample of the current rollout keeps the current watch from being silent.
    if (Date.parse(sample.observedAt) >= (this.readyAt.get(sample.environment) ?? 0)) {
      this.lastEvidenceAt.set(
        sample.environment,
        Math.max(receivedAt, this.lastEvidenceAt.get(sample.environment) ?? 0),
      );
    }
    if (this.summary.worstRisePercent === undefined || a.risePercent > this.summary.worstRisePercent) {
      this.summary.worstRisePercent = a.risePercent;
    }
    if (a.verdict !== 'breach') return undefined;
    return {
      kind: 'breach',
      sample,
      thresholdPercent: this.rollback.thresholdPercent,
      baselineUsed: a.baselineUsed,
      risePercent: a.risePercent,
    };
  }

  /**
   * Counts what a metrics-source watch saw in one window (its samples never came as signals) and
   * carries its last conclusive evidence forward, so the next window's silence clock goes on from it.
   */
  recordWatch(environment: Environment, ev: ErrorRateEvidence): void {
    this.summary.samples += ev.polls - ev.missing;
    this.summary.inconclusive += ev.inconclusive;
    this.summary.missing = (this.summary.missing ?? 0) + ev.missing;
    const newest = ev.recent[ev.recent.length - 1];
    if (newest) this.summary.last = newest;
    for (const sample of ev.recent) {
      const a = assessSample(sample, this.rollback);
      if (
        a.verdict !== 'inconclusive' &&
        (this.summary.worstRisePercent === undefined || a.risePercent > this.summary.worstRisePercent)
      ) {
        this.summary.worstRisePercent = a.risePercent;
      }
    }
    this.lastEvidenceAt.set(environment, Math.max(ev.lastEvidenceAt, this.lastEvidenceAt.get(environment) ?? 0));
  }

  /** Workflow time by which `environment` must have produced a conclusive sample. */
  silenceDeadline(environment: Environment, maxSilenceMs: number): number {
    return (this.lastEvidenceAt.get(environment) ?? 0) + maxSilenceMs;
  }

  readyAtOf(environment: Environment): number | undefined {
    return this.readyAt.get(environment);
  }

  lastEvidence(environment: Environment): number | undefined {
    return this.lastEvidenceAt.get(environment);
  }
}
