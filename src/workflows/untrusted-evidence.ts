// What a Temporal namespace writer could feed a promotion to keep it from rolling back, and how
// the workflow refuses it (docs/threat-model.md, "Temporal namespace writer"). Pure, deterministic.
import type { ErrorRateEvidence } from './messages';
import type { MonitoringSettings } from '../policy/config/monitoring-schema';

/**
 * How far a watch activity's clock may run ahead of workflow time (worker hosts' clock skew). A
 * result dated later than that was not measured: it was written to push the silence clock away.
 */
export const FUTURE_EVIDENCE_SKEW_MS = 2 * 60_000;

/** Why a watch result's evidence cannot be true at workflow time `nowMs`, if it cannot. */
export function futureEvidenceReason(ev: ErrorRateEvidence, nowMs: number): string | undefined {
  const limit = nowMs + FUTURE_EVIDENCE_SKEW_MS;
  const at = (ms: number) => new Date(ms).toISOString();
  if (ev.lastEvidenceAt > limit)
    return `its last evidence is dated ${at(ev.lastEvidenceAt)}, after workflow time ${at(nowMs)}: refused, the silence clock goes on from the evidence before it`;
  if (ev.lastPollAt !== undefined && ev.lastPollAt > limit)
    return `its last poll is dated ${at(ev.lastPollAt)}, after workflow time ${at(nowMs)}: refused, the silence clock goes on from the evidence before it`;
  return undefined;
}

/**
 * Whose `errorRate` signals are evidence (reset the silence clock, feed the tests): the sources
 * the policy lists; with a metrics source and no list, none (the metrics source is the evidence);
 * with neither, every signal (undefined), since signals are then the only evidence there is.
 */
export function trustedSignalSources(
  m: Pick<MonitoringSettings, 'signalSources' | 'prometheus' | 'datadog'>,
): string[] | undefined {
  if (m.signalSources) return [...m.signalSources];
  return m.prometheus || m.datadog ? [] : undefined;
}
