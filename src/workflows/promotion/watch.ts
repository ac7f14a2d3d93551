// Watching an environment's error rate for a window: breach and silence interrupt the promotion.
// Samples arrive by signal (handlers.ts) or, when the policy configures a metrics source, from one
// watch activity per window that polls it and judges breach and silence itself; it sends nothing
// between polls, so a window costs the history a handful of events (docs/monitoring.md).
import * as wf from '@temporalio/workflow';
import { MINUTE_MS } from '../../common/durations';
import type { Environment } from '../messages';
import type { ErrorRateMonitor } from '../error-rate-monitor';
import type { Watch } from '../sequential-breach-test';
import { watchActs } from './activity-options';
import { iso, type GatedContext } from './context';
import { continueAsNewAt, continueAsNewDue } from './continuation';
import { cancelAfterGrace } from './cancel-after-grace';
import { futureEvidenceReason } from '../untrusted-evidence';

/** 'restart': a later merge of the service asked this promotion to restart with it (restart.ts). */
export type WatchResult = 'elapsed' | 'done' | 'interrupted' | 'restart';

/** Starts the metrics-source watch of one window; cancelled when the window ends for another reason. */
function startSourceWatch(ctx: GatedContext, environment: Environment, until: number, label: string) {
  if (!ctx.metricsWatch) return undefined;
  const { settings, monitor, state, change } = ctx;
  const intervalMs = settings.monitoring.intervalSeconds * 1000;
  const watching = { running: true, graceMs: intervalMs + 2 * MINUTE_MS, stop: async () => {} };
  const acts = watchActs(until - Date.now(), watching.graceMs, intervalMs);
  const target =
    environment === 'staging'
      ? ('staging' as const)
      : state.stage === 'production'
        ? ('production' as const)
        : ('canary' as const);
  const input = {
    service: change.service,
    environment,
    target,
    version: change.version,
    readyAt: monitor.readyAtOf(environment) ?? Date.now(),
    until,
    lastEvidenceAt: monitor.lastEvidence(environment) ?? Date.now(),
    label,
    monitoring: settings.monitoring,
    rollback: settings.rollback,
    // Samples with counts: the watch's sequential test goes on where the last window left it.
    ...(monitor.judgesCounts ? sequentialInput(monitor, target, environment) : {}),
  };
  const scope = new wf.CancellationScope();
  const done = scope
    .run(() =>
      acts.watchErrorRate.executeWithOptions({ summary: `watch ${environment} error rate: ${label}` }, [input]),
    )
    .then(
      (r) => {
        watching.running = false;
        // A result from the future was not measured: its evidence is refused (bad news still acts).
        const future = futureEvidenceReason(r.evidence, Date.now());
        if (future) {
          monitor.refusedFutureEvidence();
          ctx.refuse({ who: 'watchErrorRate', action: `watch ${environment} error rate`, reason: future });
        } else monitor.recordWatch(environment, r.evidence, input.target);
        if (r.outcome === 'breach') {
          const { sample, thresholdPercent, baselineUsed, risePercent, evidence, test } = r;
          ctx.interrupt({
            kind: 'breach',
            sample,
            thresholdPercent,
            baselineUsed,
            risePercent,
            evidence,
            ...(test ? { test } : {}),
          });
        } else if (r.outcome === 'silence') {
          ctx.interrupt({
            kind: 'silence',
            environment,
            silentMinutes: r.silentMinutes,
            silentSince: iso(r.silentSince),
            evidence: r.evidence,
          });
        }
      },
      (err) => {
        watching.running = false;
        // A watch that failed for good hands silence back to the workflow's own clock: fail closed.
        if (!wf.isCancellation(err))
          wf.log.warn('error-rate watch failed; silence is judged by the workflow', {
            environment,
            error: String(err),
          });
      },
    );
  watching.stop = async () => {
    await cancelAfterGrace(scope, () => !watching.running);
    await done;
  };
  return watching;
}

/** The sequential test and counting interval a metrics-source watch goes on from. */
function sequentialInput(monitor: ErrorRateMonitor, watch: Watch, environment: Environment) {
  const test = monitor.testOf(watch);
  const windowFrom = monitor.lastPollOf(environment);
  return { sequential: true, ...(test ? { test } : {}), ...(windowFrom !== undefined ? { windowFrom } : {}) };
}

export interface WatchOptions {
  /** The wait ends early, as 'done', once this holds (the approvals are in, the rollout ended). */
  done?: () => boolean;
  /**
   * Nothing that changes an environment runs during this wait: the run may continue as new here
   * (continuation.ts) and the next run resumes the same wait until `until`. With a metrics-source
   * watch, only before it starts: its silence clock lives in the activity, not in the workflow.
   */
  safePoint?: boolean;
}

/** Waits until `until` (or `done()`); breach, silence or a human's stop end it as 'interrupted'. */
export async function watch(
  ctx: GatedContext,
  environment: Environment,
  until: number,
  label: string,
  { done = () => false, safePoint = false }: WatchOptions = {},
): Promise<WatchResult> {
  const { state, monitor } = ctx;
  const maxSilenceMs = ctx.settings.monitoring.maxSilenceMinutes * MINUTE_MS;
  // A restart is asked for only in the stages that wait here; it ends the wait as a stop would.
  const stopping = () => !!state.interruption || !!state.restartRequest;
  const waiting = () => !stopping() && !done();
  const continueAsNewHere = () => safePoint && continueAsNewDue(ctx);
  if (ctx.metricsWatch && continueAsNewHere()) await continueAsNewAt(ctx, until, waiting);
  const source = startSourceWatch(ctx, environment, until, label);
  try {
    for (;;) {
      if (state.interruption) return 'interrupted';
      if (state.restartRequest) return 'restart';
      if (done()) return 'done';
      const now = Date.now();
      if (source?.running) {
        // The source watch judges silence and ends itself at `until`; the workflow waits for its
        // verdict (so its last evidence carries into the next window), at most a grace period.
        if (now >= until + source.graceMs) return 'elapsed';
        const wakeAt = now < until ? until : until + source.graceMs;
        await wf.condition(() => stopping() || done() || !source.running, wakeAt - now, { summary: label });
        continue;
      }
      const silenceAt = monitor.silenceDeadline(environment, maxSilenceMs);
      if (now >= silenceAt) {
        const last = monitor.lastEvidence(environment) ?? now;
        ctx.interrupt({
          kind: 'silence',
          environment,
          silentMinutes: (now - last) / MINUTE_MS,
          silentSince: iso(last),
        });
        return 'interrupted';
      }
      if (now >= until) return 'elapsed';
      if (continueAsNewHere()) {
        await continueAsNewAt(ctx, until, waiting);
        continue; // only when the wait ended meanwhile
      }
      const wakeAt = Math.min(until, silenceAt);
      const summary = wakeAt === until ? label : `${label}: next conclusive ${environment} error-rate sample due`;
      await wf.condition(() => stopping() || done() || continueAsNewHere(), wakeAt - now, { summary });
    }
  } finally {
    await source?.stop();
  }
}
