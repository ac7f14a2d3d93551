// The earliest production time `airlock list` shows for each queued promotion.
import { describe, expect, test } from 'vitest';
import { holderFreesAt, queueEtas, type QueueDurations } from '../../../src/client/queue-eta';
import { renderList } from '../../../src/cli/list';
import type { PromotionState } from '../../../src/workflows/messages';

const H = 3_600_000;
const M = 60_000;
const d: QueueDurations = { bakeMs: 24 * H, canaryMs: 30 * M, watchMs: 30 * M, lanes: 1 };
const now = Date.parse('2026-12-01T00:00:00Z');

describe('queue ETA', () => {
  test('one lane: each queued promotion waits for the one before it to bake, canary and watch', () => {
    const etas = queueEtas(['a', 'b', 'c'], [now + 2 * H], d, now);
    // a starts when the holder frees (2 h), rolls out after bake + canary; b after a's watch, and so on.
    expect(etas.get('a')).toBe(now + 2 * H + 24.5 * H);
    expect(etas.get('b')).toBe(now + 2 * H + 25 * H + 24.5 * H);
    expect(etas.get('c')).toBe(now + 2 * H + 2 * 25 * H + 24.5 * H);
  });

  test('two lanes: a free lane starts at once, the next takes whichever frees first', () => {
    const etas = queueEtas(['a', 'b'], [now + 10 * H], { ...d, lanes: 2 }, now);
    expect(etas.get('a')).toBe(now + 24.5 * H);
    expect(etas.get('b')).toBe(now + 10 * H + 24.5 * H);
  });

  test('a holder frees its slot after what is left of its bake, canary and watch', () => {
    const base = { stage: 'baking', bakeEndsAt: new Date(now + 5 * H).toISOString() } as PromotionState;
    expect(holderFreesAt(base, d, now)).toBe(now + 6 * H);
    const canary = { stage: 'canary', canaryWatchEndsAt: new Date(now + 10 * M).toISOString() } as PromotionState;
    expect(holderFreesAt(canary, d, now)).toBe(now + 40 * M);
    expect(holderFreesAt({ stage: 'awaiting_approval' } as PromotionState, d, now)).toBe(now + 30 * M);
  });

  test('the list shows position, earliest production and the commits of a train', () => {
    const text = renderList({
      inFlight: [],
      recent: [],
      queued: [
        {
          workflowId: 'promotion-x',
          service: 'search-service',
          commit: 'b'.repeat(40),
          stage: 'queued',
          status: 'RUNNING',
          startTime: '2026-12-01T00:00:00.000Z',
          position: 1,
          earliestProductionAt: '2026-12-02T02:30:00.000Z',
          commits: ['a'.repeat(40), 'b'.repeat(40)],
        },
      ],
    });
    expect(text).toContain('#1 search-service');
    expect(text).toContain('production not before 2026-12-02T02:30:00.000Z');
    expect(text).toContain(`train of 2: ${'a'.repeat(12)} ${'b'.repeat(12)}`);
  });
});
