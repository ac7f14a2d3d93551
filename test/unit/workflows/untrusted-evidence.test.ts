// Evidence a Temporal namespace writer could forge to keep a promotion from rolling back: healthy
// signal samples from an untrusted source, and a watch result dated in the future.
import { describe, expect, test } from 'vitest';
import { ErrorRateMonitor } from '../../../src/workflows/error-rate-monitor';
import type { ErrorRateEvidence } from '../../../src/workflows/messages';
import { errorRateSampleSchema } from '../../../src/workflows/payload-schemas';
import {
  FUTURE_EVIDENCE_SKEW_MS,
  futureEvidenceReason,
  trustedSignalSources,
} from '../../../src/workflows/untrusted-evidence';
import { monitoringSchema } from '../../../src/policy/config/monitoring-schema';
import { errorRateEvidenceLines } from '../../../src/common/error-rate-evidence';

const rule = { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001, falseRollbackRate: 0.01 };
const T0 = Date.parse('2026-11-27T00:00:00Z');
const MIN = 60_000;
const SILENCE = 10 * MIN;

const sample = (at: number, errors: number, source?: string) =>
  errorRateSampleSchema.parse({
    environment: 'production',
    observedAt: new Date(at).toISOString(),
    errors,
    requests: 10_000,
    baselineErrors: 900,
    baselineRequests: 90_000,
    ...(source ? { source } : {}),
  });

function canaryMonitor(trusted?: string[]) {
  const m = new ErrorRateMonitor(rule, true, undefined, true, true);
  if (trusted) m.trustSignalsFrom(trusted);
  m.deployed('production', T0);
  return m;
}

describe('untrusted signal samples', () => {
  test('a healthy sample from an untrusted source neither resets the silence clock nor enters the test', () => {
    const m = canaryMonitor(['prometheus-bridge']);
    expect(m.observe(sample(T0 + 5 * MIN, 100, 'forger'), T0 + 5 * MIN)).toBeUndefined();
    expect(m.observe(sample(T0 + 6 * MIN, 100), T0 + 6 * MIN)).toBeUndefined(); // no source at all
    expect(m.silenceDeadline('production', SILENCE)).toBe(T0 + SILENCE);
    expect(m.testOf('canary')).toBeUndefined();
    expect(m.summary.untrusted).toBe(2);
    expect(errorRateEvidenceLines(m.summary)).toContain(
      '2 healthy samples from sources the policy does not trust ignored (monitoring.signalSources)',
    );
  });

  test('the trusted source keeps the watch alive and feeds the test', () => {
    const m = canaryMonitor(['prometheus-bridge']);
    expect(m.observe(sample(T0 + 5 * MIN, 100, 'prometheus-bridge'), T0 + 5 * MIN)).toBeUndefined();
    expect(m.silenceDeadline('production', SILENCE)).toBe(T0 + 5 * MIN + SILENCE);
    expect(m.testOf('canary')).toBeDefined();
    expect(m.summary.untrusted).toBeUndefined();
  });

  test('bad news from an untrusted source still rolls back: a forged breach costs a rollback, never a watch', () => {
    const m = canaryMonitor([]);
    const breach = m.observe(sample(T0 + 5 * MIN, 600, 'anyone'), T0 + 5 * MIN);
    expect(breach?.kind).toBe('breach');
  });

  test('without a list every signal counts, as before (no metrics source: signals are the evidence)', () => {
    const m = canaryMonitor();
    m.observe(sample(T0 + 5 * MIN, 100, 'anyone'), T0 + 5 * MIN);
    expect(m.silenceDeadline('production', SILENCE)).toBe(T0 + 5 * MIN + SILENCE);
  });

  test('the trusted sources survive continue-as-new', () => {
    const m = canaryMonitor(['prometheus-bridge']);
    const next = new ErrorRateMonitor(rule, true, JSON.parse(JSON.stringify(m.state)));
    next.observe(sample(T0 + 5 * MIN, 100, 'forger'), T0 + 5 * MIN);
    expect(next.silenceDeadline('production', SILENCE)).toBe(T0 + SILENCE);
  });

  test('whom the policy trusts: its list; with a metrics source and no list, nobody; with neither, everyone', () => {
    const prometheus = {
      url: 'http://prometheus:9090',
      countQueries: { errors: 'e', requests: 'r', baselineErrors: 'be', baselineRequests: 'br' },
    };
    expect(trustedSignalSources(monitoringSchema.parse({ signalSources: ['bridge'], prometheus }))).toEqual(['bridge']);
    expect(trustedSignalSources(monitoringSchema.parse({ prometheus }))).toEqual([]);
    expect(trustedSignalSources(monitoringSchema.parse({}))).toBeUndefined();
    const bad = monitoringSchema.safeParse({ signalSources: [''] });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/signalSources.*must be a non-empty source name/s);
  });
});

describe('watch results dated after workflow time', () => {
  const evidence = (lastEvidenceAt: number, lastPollAt?: number): ErrorRateEvidence => ({
    source: 'prometheus http://prometheus:9090',
    polls: 1,
    conclusive: 1,
    inconclusive: 0,
    missing: 0,
    lastEvidenceAt,
    recent: [],
    recentMissing: [],
    ...(lastPollAt !== undefined ? { lastPollAt } : {}),
  });

  test('evidence from the far future is refused, naming both times', () => {
    const far = Date.parse('2099-01-01T00:00:00Z');
    expect(futureEvidenceReason(evidence(far), T0)).toBe(
      'its last evidence is dated 2099-01-01T00:00:00.000Z, after workflow time 2026-11-27T00:00:00.000Z: refused, the silence clock goes on from the evidence before it',
    );
    expect(futureEvidenceReason(evidence(T0, far), T0)).toMatch(/its last poll is dated 2099-01-01/);
  });

  test('clock skew up to the allowance is accepted; one millisecond more is not', () => {
    expect(futureEvidenceReason(evidence(T0 + FUTURE_EVIDENCE_SKEW_MS), T0)).toBeUndefined();
    expect(futureEvidenceReason(evidence(T0 - MIN, T0), T0)).toBeUndefined();
    expect(futureEvidenceReason(evidence(T0 + FUTURE_EVIDENCE_SKEW_MS + 1), T0)).toBeDefined();
  });
});
