// Workflow-side bookkeeping of error-rate samples: which are fresh, which breach, and when each
// environment last gave conclusive evidence. Deterministic: time comes in as arguments.
import { assessSample, type BreachRule } from './breach-rule';
import type {
  AlertSignal,
  Environment,
  ErrorRateEvidence,
  ErrorRateSample,
  ErrorRateSummary,
  Interruption,
} from './messages';
import { judgeAlert } from './alert-verdict';
import { evidenceShortfall, hasCounts, judgeCounts, risePercentOf } from './count-judgement';
import type { SequentialTestState, Watch } from './sequential-breach-test';

/** Everything a monitor knows, as data: what a run that continues as new hands to the next. */
export interface ErrorRateMonitorState {
  summary: ErrorRateSummary;
  readyAt: Partial<Record<Environment, number>>;
  firstReadyAt: Partial<Record<Environment, number>>;
  lastEvidenceAt: Partial<Record<Environment, number>>;
  judgeFromFirstReadiness: boolean;
  /** Samples with counts go to the sequential breach test (off when replaying older promotions). */
  sequential?: boolean;
  /** Each watch's test, carried across continue-as-new. */
  tests?: Partial<Record<Watch, SequentialTestState>>;
  /** Where each environment's last counted interval of a metrics-source watch ended (ms). */
  lastPollAt?: Partial<Record<Environment, number>>;
  /** Each watch's traffic is judged when it ends (off when replaying older promotions). */
  judgesTraffic?: boolean;
  /**
   * The `source` values whose signal samples count as evidence (reset the silence clock, feed the
   * tests). Absent: every signal does, as before patch 'trusted-evidence'.
   */
  signalSources?: string[];
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
  private readonly tests: Partial<Record<Watch, SequentialTestState>>;
  private readonly sequential: boolean;
  private readonly lastPollAt: Partial<Record<Environment, number>>;
  private readonly judgesTraffic: boolean;
  private signalSources: string[] | undefined;

  constructor(
    private readonly rollback: BreachRule,
    private readonly judgeFromFirstReadiness = false,
    from?: ErrorRateMonitorState,
    sequential = false,
    judgesTraffic = false,
  ) {
    this.summary = from ? { ...from.summary } : { samples: 0, inconclusive: 0, stale: 0 };
    this.readyAt = toMap(from?.readyAt);
    this.firstReadyAt = toMap(from?.firstReadyAt);
    this.lastEvidenceAt = toMap(from?.lastEvidenceAt);
    this.tests = { ...from?.tests };
    this.lastPollAt = { ...from?.lastPollAt };
    this.sequential = from ? !!from.sequential : sequential;
    this.judgesTraffic = from ? !!from.judgesTraffic : judgesTraffic;
    this.signalSources = from?.signalSources ? [...from.signalSources] : undefined;
  }

  /**
   * From now on only signal samples whose `source` is listed are evidence (untrusted-evidence.ts):
   * anyone who can signal the workflow can send a sample, and a healthy one would otherwise reset
   * the silence clock and dilute the test. An untrusted sample still rolls back when it alone shows
   * a breach: forged bad news costs a rollback, never an unwatched production.
   */
  trustSignalsFrom(sources: readonly string[]): void {
    this.signalSources = [...sources];
  }

  private trusted(sample: ErrorRateSample): boolean {
    return (
      this.signalSources === undefined || (sample.source !== undefined && this.signalSources.includes(sample.source))
    );
  }

  /** The monitor as data; `new ErrorRateMonitor(rule, s.judgeFromFirstReadiness, s)` is the same monitor. */
  get state(): ErrorRateMonitorState {
    return {
      summary: { ...this.summary },
      readyAt: Object.fromEntries(this.readyAt),
      firstReadyAt: Object.fromEntries(this.firstReadyAt),
      lastEvidenceAt: Object.fromEntries(this.lastEvidenceAt),
      judgeFromFirstReadiness: this.judgeFromFirstReadiness,
      ...(this.sequential ? { sequential: true, tests: { ...this.tests }, lastPollAt: { ...this.lastPollAt } } : {}),
      ...(this.judgesTraffic ? { judgesTraffic: true } : {}),
      ...(this.signalSources ? { signalSources: [...this.signalSources] } : {}),
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
    if (this.sequential && hasCounts(sample)) return this.observeCounts(sample, receivedAt);
    if (this.sequential) this.summary.rateOnly = (this.summary.rateOnly ?? 0) + 1;
    const a = assessSample(sample, this.rollback);
    if (a.verdict === 'inconclusive') {
      this.summary.inconclusive++;
      return undefined;
    }
    if (!this.trusted(sample) && a.verdict !== 'breach') return this.untrusted();
    this.markEvidence(sample, receivedAt);
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
   * Records one alert signal's firing alerts received at `receivedAt`; returns the rollback the
   * first one about `version` (or service-wide) in an environment running the change calls for.
   * Alerts are verdicts, not evidence: they neither feed the tests nor reset the silence clock.
   */
  observeAlerts(signal: AlertSignal, receivedAt: number, version: string): Interruption | undefined {
    const a = (this.summary.alerts ??= { received: 0, ignored: 0, recentIgnored: [] });
    a.received += signal.alerts.length;
    for (const alert of signal.alerts) {
      const v = judgeAlert(alert, version, this.readyAt.get(alert.environment));
      if (v.act)
        return {
          kind: 'alert',
          alert,
          receivedAt: new Date(receivedAt).toISOString(),
          about: v.about,
          firingBeforeReady: v.firingBeforeReady,
        };
      a.ignored++;
      a.recentIgnored = [...a.recentIgnored, { name: alert.name, reason: v.reason }].slice(-5);
    }
    return undefined;
  }

  /** A watch result dated after workflow time was refused (untrusted-evidence.ts). */
  refusedFutureEvidence(): void {
    this.summary.futureEvidence = (this.summary.futureEvidence ?? 0) + 1;
  }

  /** A sample from a source the policy does not trust: counted, and otherwise ignored. */
  private untrusted(): undefined {
    this.summary.untrusted = (this.summary.untrusted ?? 0) + 1;
    return undefined;
  }

  /** Only a sample of the current rollout keeps the current watch from being silent. */
  private markEvidence(sample: ErrorRateSample, receivedAt: number): void {
    if (Date.parse(sample.observedAt) >= (this.readyAt.get(sample.environment) ?? 0)) {
      this.lastEvidenceAt.set(
        sample.environment,
        Math.max(receivedAt, this.lastEvidenceAt.get(sample.environment) ?? 0),
      );
    }
  }

  /**
   * Which watch a sample belongs to: staging's bake; in production the canary (and the approval
   * wait) until the full rollout is ready, then the production watch. Each has its own test.
   */
  private watchOf(sample: ErrorRateSample): Watch {
    if (sample.environment === 'staging') return 'staging';
    const first = this.firstReadyAt.get('production');
    const current = this.readyAt.get('production');
    return current !== undefined && first !== undefined && current > first && Date.parse(sample.observedAt) >= current
      ? 'production'
      : 'canary';
  }

  /**
   * A sample with counts, judged by the watch's sequential test (sequential-breach-test.ts): a
   * breach only when the evidence so far shows, at the policy's false-rollback rate, a rise above
   * thresholdPercent. Any interval with requests is evidence against silence; minRequestCount
   * does not apply (counts add up, a small interval is a small piece of evidence).
   */
  private observeCounts(sample: ErrorRateSample, receivedAt: number): Interruption | undefined {
    const watch = this.watchOf(sample);
    const j = judgeCounts(this.tests[watch], watch, sample, this.rollback);
    if (j.kind === 'no-evidence') {
      this.summary.inconclusive++;
      return undefined;
    }
    // An untrusted sample is judged on top of the test so far but kept out of it unless it breaches.
    if (!this.trusted(sample) && j.observation.verdict !== 'breach') return this.untrusted();
    this.markEvidence(sample, receivedAt);
    this.recordTest(watch, j.test, j.observation.evidence, j.risePercent);
    if (j.observation.verdict !== 'breach') return undefined;
    const { baselineUsed, risePercent } = j;
    return {
      kind: 'breach',
      sample,
      thresholdPercent: this.rollback.thresholdPercent,
      baselineUsed,
      risePercent,
      test: j.observation.evidence,
    };
  }

  private recordTest(watch: Watch, test: SequentialTestState, evidence: string, risePercent: number): void {
    this.tests[watch] = test;
    this.summary.tests = { ...this.summary.tests, [watch]: evidence };
    if (this.summary.worstRisePercent === undefined || risePercent > this.summary.worstRisePercent)
      this.summary.worstRisePercent = risePercent;
  }

  /** The sequential test of `watch` so far, for a watch activity to go on with (sequential runs only). */
  testOf(watch: Watch): SequentialTestState | undefined {
    return this.tests[watch];
  }

  /**
   * When `watch` ends: whether its test saw too little traffic to have caught a doubling of the
   * error rate (recorded in the summary, for every view). A watch with no test (no samples with
   * counts) is left to the silence rule; promotions started before this rule are never judged.
   */
  trafficShortfall(watch: Watch): { requests: number; needed: number | null } | undefined {
    const test = this.tests[watch];
    if (!this.judgesTraffic || !test) return undefined;
    const s = evidenceShortfall(test, this.rollback.baselineFloor);
    if (!s) return undefined;
    // Infinity does not survive a payload: null is "no traffic would do, at this baseline".
    const shortfall = { requests: s.requests, needed: Number.isFinite(s.needed) ? s.needed : null };
    this.summary.insufficient = { ...this.summary.insufficient, [watch]: shortfall };
    return shortfall;
  }

  /** Where `environment`'s last counted interval ended: the next watch's first interval starts there. */
  lastPollOf(environment: Environment): number | undefined {
    return this.lastPollAt[environment];
  }

  get judgesCounts(): boolean {
    return this.sequential;
  }

  /**
   * Counts what a metrics-source watch saw in one window (its samples never came as signals) and
   * carries its last conclusive evidence forward, so the next window's silence clock goes on from it.
   */
  recordWatch(environment: Environment, ev: ErrorRateEvidence, watch?: Watch): void {
    this.summary.samples += ev.polls - ev.missing;
    this.summary.inconclusive += ev.inconclusive;
    this.summary.missing = (this.summary.missing ?? 0) + ev.missing;
    const newest = ev.recent[ev.recent.length - 1];
    if (newest) this.summary.last = newest;
    if (ev.lastPollAt !== undefined) this.lastPollAt[environment] = ev.lastPollAt;
    if (watch && ev.test && ev.testEvidence) this.recordTest(watch, ev.test, ev.testEvidence, risePercentOf(ev.test));
    for (const sample of ev.recent) {
      if (this.sequential && hasCounts(sample)) continue; // judged by the test, not one by one
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
