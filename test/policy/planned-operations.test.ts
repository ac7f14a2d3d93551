// Planned-operation windows: blocking scaling during one, and how long a deploy waits for a freeze.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { plannedOperationSchema } from '../../src/policy/config/checks-schema';
import { activeWindow, deployWait } from '../../src/policy/engine/planned-operations';
import { checkFixture, fixturePolicy } from './fixture-change';

const op = (o: Record<string, unknown>) =>
  plannedOperationSchema.parse({ name: 'op', services: ['payment-service'], ...o });
const MIN = 60_000;

describe('planned-operation windows', () => {
  const loadTest = op({ schedule: '0 14 * * 1-5', durationMinutes: 120, action: 'no_scaling' });

  it('a window is active from its start, inclusive, to its end, exclusive', () => {
    assert.equal(activeWindow(loadTest, new Date('2026-03-02T13:59:59Z')), undefined);
    assert.ok(activeWindow(loadTest, new Date('2026-03-02T14:00:00Z')));
    assert.ok(activeWindow(loadTest, new Date('2026-03-02T15:59:59Z')));
    assert.equal(activeWindow(loadTest, new Date('2026-03-02T16:00:00Z')), undefined);
    assert.equal(activeWindow(loadTest, new Date('2026-03-07T14:30:00Z')), undefined, 'Saturday');
  });

  it('the cron is read in the window’s time zone, across a DST change', () => {
    const berlin = op({ schedule: '0 9 * * *', durationMinutes: 60, timezone: 'Europe/Berlin', action: 'freeze' });
    assert.ok(activeWindow(berlin, new Date('2026-01-15T08:30:00Z')), 'winter: 09:00 CET = 08:00 UTC');
    assert.equal(activeWindow(berlin, new Date('2026-07-15T08:30:00Z')), undefined, 'summer: 09:00 CEST = 07:00 UTC');
    assert.ok(activeWindow(berlin, new Date('2026-07-15T07:30:00Z')));
  });

  it('scaling a covered service during a window is blocked; the same change outside it passes', async () => {
    const during = await checkFixture('incident-001-safe-twin', fixturePolicy(), {
      now: new Date('2026-03-02T14:30:00Z'),
    });
    assert.deepEqual(during.rules(), ['planned-operation']);
    assert.match(
      during.findings[0].message,
      /replicas of Deployment api-gateway changes from 3 to 5 while planned operation "weekday load test"/,
    );
    const after = await checkFixture('incident-001-safe-twin', fixturePolicy(), {
      now: new Date('2026-03-02T16:00:00Z'),
    });
    assert.deepEqual(after.findings, []);
  });

  it('a non-scaling change during the window passes', async () => {
    const r = await checkFixture(
      'incident-009-safe-twin',
      fixturePolicy({
        plannedOperations: [
          op({ schedule: '* * * * *', durationMinutes: 5, services: ['notification-service'], action: 'no_scaling' }),
        ],
      }),
    );
    assert.deepEqual(r.rules('block'), []);
    assert.deepEqual(r.rules('warn'), ['vacuous-probe']); // its missing readiness probe, nothing about the window
  });
});

describe('deploy wait', () => {
  const freeze = op({ schedule: '0 14 * * 1-5', durationMinutes: 120, action: 'freeze', environments: ['production'] });

  it('waits until the freeze ends, and says why', () => {
    const w = deployWait([freeze], 'payment-service', 'production', new Date('2026-03-02T14:30:00Z'));
    assert.equal(w.waitMs, 90 * MIN);
    assert.match(
      w.reason!,
      /payment-service is frozen in production by planned operation "op" until 2026-03-02 16:00 UTC/,
    );
  });

  it('does not wait outside a window, for another service, another environment, or a no_scaling window', () => {
    const at = new Date('2026-03-02T14:30:00Z');
    assert.deepEqual(deployWait([freeze], 'payment-service', 'production', new Date('2026-03-02T16:00:00Z')), {
      waitMs: 0,
    });
    assert.deepEqual(deployWait([freeze], 'search-service', 'production', at), { waitMs: 0 });
    assert.deepEqual(deployWait([freeze], 'payment-service', 'staging', at), { waitMs: 0 });
    assert.deepEqual(deployWait([{ ...freeze, action: 'no_scaling' }], 'payment-service', 'production', at), {
      waitMs: 0,
    });
  });

  it('back-to-back windows chain into one wait', () => {
    const second = op({ name: 'migration', schedule: '0 16 * * 1-5', durationMinutes: 30, action: 'freeze' });
    const w = deployWait([freeze, second], 'payment-service', 'production', new Date('2026-03-02T15:00:00Z'));
    assert.equal(w.waitMs, 90 * MIN);
    assert.match(w.reason!, /"op", "migration" until 2026-03-02 16:30/);
  });
});
