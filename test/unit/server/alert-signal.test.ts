// Firing alerts as verdicts: what one webhook request sends a promotion (alertSignalOf), whether an
// alert is about the change (judgeAlert), and what the monitor records and returns.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alertSignalOf, MAX_ALERTS_PER_SIGNAL } from '../../../src/server/alert-webhook';
import { judgeAlert } from '../../../src/workflows/alert-verdict';
import { ErrorRateMonitor } from '../../../src/workflows/error-rate-monitor';
import type { FiringAlert } from '../../../src/workflows/messages';

const READY = Date.parse('2026-11-27T10:00:00Z');
const alert = (o: Partial<FiringAlert> = {}): FiringAlert => ({
  environment: 'staging',
  name: 'ErrorRateHigh',
  source: 'alertmanager',
  startsAt: '2026-11-27T10:05:00Z',
  ...o,
});

describe('alertSignalOf: one signal per request and promotion', () => {
  test('an alert repeated across instances is sent once; versioned alerts come before service-wide ones', () => {
    const s = alertSignalOf([
      alert(),
      alert({ startsAt: '2026-11-27T10:06:00Z' }),
      alert({ environment: 'production' }),
      alert({ version: 'v1' }),
      alert({ version: 'v2' }),
      alert({ version: 'v2', name: 'LatencyHigh' }),
    ]);
    assert.deepEqual(
      s.alerts.map((a) => [a.environment, a.name, a.version ?? '*']),
      [
        ['staging', 'ErrorRateHigh', 'v1'],
        ['staging', 'ErrorRateHigh', 'v2'],
        ['staging', 'LatencyHigh', 'v2'],
        ['staging', 'ErrorRateHigh', '*'],
        ['production', 'ErrorRateHigh', '*'],
      ],
    );
    assert.equal(s.alerts[3].startsAt, '2026-11-27T10:05:00Z', 'the first of the repeats');
    assert.equal(s.more, undefined);
  });

  test('property: never more than the cap; every distinct alert is carried or counted in `more`', () => {
    const arbAlert = fc.record(
      {
        environment: fc.constantFrom('staging' as const, 'production' as const),
        name: fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `Rule${i}`)),
        source: fc.constant('alertmanager'),
        startsAt: fc.constant('2026-11-27T10:05:00Z'),
        version: fc.constantFrom('v1', 'v2'),
      },
      { requiredKeys: ['environment', 'name', 'source', 'startsAt'] },
    );
    fc.assert(
      fc.property(fc.array(arbAlert, { minLength: 1, maxLength: 400 }), (alerts) => {
        const keyOf = (a: FiringAlert) => JSON.stringify([a.environment, a.name, a.version ?? null]);
        const distinct = new Set(alerts.map(keyOf)).size;
        const s = alertSignalOf(alerts);
        assert.ok(s.alerts.length <= MAX_ALERTS_PER_SIGNAL);
        assert.equal(s.alerts.length + (s.more ?? 0), distinct);
        assert.equal(new Set(s.alerts.map(keyOf)).size, s.alerts.length);
      }),
      { seed: 20261127, numRuns: 300 },
    );
  });
});

describe('judgeAlert: is the alerting system talking about the change?', () => {
  test('not running there yet, or about another version: not acted on, saying why', () => {
    assert.deepEqual(judgeAlert(alert({ environment: 'production' }), 'v2', undefined), {
      act: false,
      reason: 'the change is not running in production yet',
    });
    assert.deepEqual(judgeAlert(alert({ version: 'v1' }), 'v2', READY), {
      act: false,
      reason: 'about version v1, not v2',
    });
  });

  test('its own version or service-wide: acted on; an alert firing since before readiness is not stale', () => {
    assert.deepEqual(judgeAlert(alert({ version: 'v2' }), 'v2', READY), {
      act: true,
      about: 'version v2',
      firingBeforeReady: false,
    });
    // Alertmanager repeats a firing alert with its first startsAt: still firing after readiness.
    assert.deepEqual(judgeAlert(alert({ startsAt: '2026-11-27T09:00:00Z' }), 'v2', READY), {
      act: true,
      about: 'service-wide',
      firingBeforeReady: true,
    });
  });
});

describe('the monitor: alerts are verdicts, not samples', () => {
  const rule = { thresholdPercent: 5, minRequestCount: 100, baselineFloor: 0.001, falseRollbackRate: 0.01 };

  test('records ignored alerts, returns the first that applies, and touches neither samples nor silence', () => {
    const m = new ErrorRateMonitor(rule, true, undefined, true);
    m.deployed('staging', READY);
    const deadline = m.silenceDeadline('staging', 600_000);
    const none = m.observeAlerts(
      { alerts: [alert({ version: 'v1' }), alert({ environment: 'production' })] },
      READY + 60_000,
      'v2',
    );
    assert.equal(none, undefined);
    const hit = m.observeAlerts(
      { alerts: [alert({ version: 'v1' }), alert({ version: 'v2' })] },
      READY + 120_000,
      'v2',
    );
    assert.deepEqual(hit, {
      kind: 'alert',
      alert: alert({ version: 'v2' }),
      receivedAt: new Date(READY + 120_000).toISOString(),
      about: 'version v2',
      firingBeforeReady: false,
    });
    assert.deepEqual(m.summary.alerts, {
      received: 4,
      ignored: 3,
      recentIgnored: [
        { name: 'ErrorRateHigh', reason: 'about version v1, not v2' },
        { name: 'ErrorRateHigh', reason: 'the change is not running in production yet' },
        { name: 'ErrorRateHigh', reason: 'about version v1, not v2' },
      ],
    });
    assert.deepEqual([m.summary.samples, m.summary.tests], [0, undefined]);
    assert.equal(m.silenceDeadline('staging', 600_000), deadline, 'an alert is no evidence of health');
  });
});
