// The watch activity: one per watch window (bake, canary, approval wait, production). It polls the
// metrics source every monitoring.intervalSeconds and heartbeats each poll with its progress, so a
// retry on another worker resumes the same silence clock. It sends nothing to the workflow between
// polls: a 24-hour bake costs the history one scheduled/started/completed triple, not 1,440 signals.
// It returns on the first breaching sample, when conclusive data has been missing for
// maxSilenceMinutes (reported as missing, never as zero errors), or at the end of the window.
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { MonitoringSettings } from '../policy/config/monitoring-schema';
import type { QueryTarget } from '../policy/config/query-template';
import { assessSample, type BreachRule } from '../workflows/breach-rule';
import { hasCounts, judgeCounts } from '../workflows/count-judgement';
import type { SequentialTestState } from '../workflows/sequential-breach-test';
import { FailureType } from '../common/failure-types';
import type { Environment, ErrorRateEvidence, ErrorRateSample } from '../workflows/messages';

export type { ErrorRateEvidence };
import type { MetricsSourceFactory } from '../integrations/metrics-source';

export interface ErrorRateWatchInput {
  service: string;
  environment: Environment;
  /** staging (bake), canary (canary watch, approval wait) or production (after the rollout). */
  target: QueryTarget;
  version: string;
  /** Workflow time the version became ready in `environment` (ms). */
  readyAt: number;
  /** Workflow time the window ends (ms). */
  until: number;
  /** Last conclusive evidence for `environment` (ms): the silence clock goes on from there. */
  lastEvidenceAt: number;
  label: string;
  monitoring: MonitoringSettings;
  rollback: BreachRule;
  /** Samples with counts go to the sequential breach test (promotions started before it: per sample). */
  sequential?: boolean;
  /** The watch's test so far (the canary's test runs on through the approval wait). */
  test?: SequentialTestState;
  /** Where the previous window's last counting interval ended (ms); absent: at readiness. */
  windowFrom?: number;
}

export type ErrorRateWatchResult =
  | {
      outcome: 'breach';
      sample: ErrorRateSample;
      baselineUsed: number;
      risePercent: number;
      thresholdPercent: number;
      evidence: ErrorRateEvidence;
      /** The sequential test's verdict in words (counts). */
      test?: string;
    }
  | { outcome: 'silence'; silentSince: number; silentMinutes: number; evidence: ErrorRateEvidence }
  | { outcome: 'elapsed'; evidence: ErrorRateEvidence };

export const EVIDENCE_KEEP = 5;

export type { MetricsSourceFactory };

const keepLast = <T>(list: T[], item: T) => [...list, item].slice(-EVIDENCE_KEEP);

export function createErrorRateWatchActivity(sourceFor: MetricsSourceFactory) {
  return async function watchErrorRate(input: ErrorRateWatchInput): Promise<ErrorRateWatchResult> {
    const ctx = Context.current();
    let source: ReturnType<MetricsSourceFactory>;
    let why = 'no metrics source for this policy on this worker';
    try {
      source = sourceFor(input.monitoring);
    } catch (err) {
      // e.g. settings recorded with rate queries only, which are no longer read.
      why = (err as Error).message;
    }
    if (!source) {
      // Retrying on this worker cannot build it: fail at once so the workflow's silence clock takes over.
      throw ApplicationFailure.create({
        type: FailureType.MetricsSourceUnavailable,
        message: `${input.label}: ${why}`,
        nonRetryable: true,
      });
    }
    const maxSilenceMs = input.monitoring.maxSilenceMinutes * 60_000;
    const intervalMs = input.monitoring.intervalSeconds * 1000;
    // A retried attempt (worker crash, heartbeat timeout) resumes where the last heartbeat left off.
    const resumed = ctx.info.heartbeatDetails as ErrorRateEvidence | undefined;
    const ev: ErrorRateEvidence = resumed ?? {
      source: source.name,
      polls: 0,
      conclusive: 0,
      inconclusive: 0,
      missing: 0,
      lastEvidenceAt: input.lastEvidenceAt,
      recent: [],
      recentMissing: [],
    };
    if (resumed)
      log.info('error-rate watch resumed', { label: input.label, polls: ev.polls, attempt: ctx.info.attempt });

    for (;;) {
      // Silence is judged before polling: a worker that was down saw nothing, and nothing is not health.
      const now = Date.now();
      if (now - ev.lastEvidenceAt >= maxSilenceMs) {
        return {
          outcome: 'silence',
          silentSince: ev.lastEvidenceAt,
          silentMinutes: (now - ev.lastEvidenceAt) / 60_000,
          evidence: ev,
        };
      }
      if (now >= input.until) return { outcome: 'elapsed', evidence: ev };

      // Counting intervals tile time: each starts where the previous poll's ended.
      const from = ev.lastPollAt ?? input.windowFrom ?? input.readyAt;
      const reading = await source.read(
        {
          service: input.service,
          environment: input.environment,
          target: input.target,
          version: input.version,
          readyAt: input.readyAt,
          at: now,
          windowSeconds: (now - from) / 1000,
        },
        ctx.cancellationSignal,
      );
      ev.polls++;
      if (reading.kind === 'sample' && input.sequential && hasCounts(reading.sample)) {
        // Counted, so the next interval starts here; a missing reading's interval is counted next time.
        ev.lastPollAt = now;
        ev.recent = keepLast(ev.recent, reading.sample);
        const j = judgeCounts(ev.test ?? input.test, input.target, reading.sample, input.rollback);
        if (j.kind === 'no-evidence') {
          ev.inconclusive++;
        } else {
          ev.conclusive++;
          ev.lastEvidenceAt = now;
          ev.test = j.test;
          ev.testEvidence = j.observation.evidence;
          if (j.observation.verdict === 'breach') {
            return {
              outcome: 'breach',
              sample: reading.sample,
              baselineUsed: j.baselineUsed,
              risePercent: j.risePercent,
              thresholdPercent: input.rollback.thresholdPercent,
              evidence: ev,
              test: j.observation.evidence,
            };
          }
        }
      } else if (reading.kind === 'missing') {
        ev.missing++;
        ev.recentMissing = keepLast(ev.recentMissing, { at: reading.at, reason: reading.reason });
      } else {
        ev.recent = keepLast(ev.recent, reading.sample);
        const a = assessSample(reading.sample, input.rollback);
        if (a.verdict === 'inconclusive') {
          ev.inconclusive++;
        } else {
          ev.conclusive++;
          ev.lastEvidenceAt = now;
          if (a.verdict === 'breach') {
            return {
              outcome: 'breach',
              sample: reading.sample,
              baselineUsed: a.baselineUsed,
              risePercent: a.risePercent,
              thresholdPercent: input.rollback.thresholdPercent,
              evidence: ev,
            };
          }
        }
      }
      ctx.heartbeat({ ...ev }); // a snapshot: `ev` goes on changing

      const after = Date.now();
      const wakeAt = Math.min(after + intervalMs, input.until, ev.lastEvidenceAt + maxSilenceMs);
      await ctx.sleep(Math.max(0, wakeAt - after));
    }
  };
}
