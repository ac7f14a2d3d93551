// When will a queued promotion reach production? The slot queue's order × the policy's durations:
// a lower bound (approvals assumed at once, the hourly start limit and one-service-at-a-time
// ignored), so `airlock list` can say "not before".
import { HOUR_MS, MINUTE_MS } from '../common/durations';
import type { PromotionState } from '../workflows/messages';
import type { PromotionSettings } from '../policy/config/schema';

export interface QueueDurations {
  bakeMs: number;
  canaryMs: number;
  watchMs: number;
  lanes: number;
}

export function queueDurations(s: PromotionSettings): QueueDurations {
  return {
    bakeMs: s.bake.minHours * HOUR_MS,
    canaryMs: s.canary.minMinutes * MINUTE_MS,
    watchMs: s.production.watchMinutes * MINUTE_MS,
    lanes: s.blastRadius.maxServicesInFlight,
  };
}

/** The earliest a slot holder can free its slot, from where it is now. */
export function holderFreesAt(s: PromotionState, d: QueueDurations, now: number): number {
  const at = (iso?: string) => (iso ? Date.parse(iso) : undefined);
  switch (s.stage) {
    case 'staging':
    case 'baking':
      return (at(s.bakeEndsAt) ?? now + d.bakeMs) + d.canaryMs + d.watchMs;
    case 'frozen':
    case 'canary':
      return (at(s.canaryWatchEndsAt) ?? now + d.canaryMs) + d.watchMs;
    default:
      return now + d.watchMs;
  }
}

/**
 * For each queued promotion, in order: the earliest time it can reach production (its rollout),
 * given when each slot frees up. A promotion that gets a slot at t rolls out at t + bake + canary
 * and frees the slot after the production watch.
 */
export function queueEtas(
  queue: string[],
  holdersFreeAt: number[],
  d: QueueDurations,
  now: number,
): Map<string, number> {
  const lanes = [...holdersFreeAt];
  while (lanes.length < d.lanes) lanes.push(now);
  const etas = new Map<string, number>();
  for (const id of queue) {
    lanes.sort((a, b) => a - b);
    const start = Math.max(now, lanes[0]);
    const production = start + d.bakeMs + d.canaryMs;
    etas.set(id, production);
    lanes[0] = production + d.watchMs;
  }
  return etas;
}
