// Why an approval is refused before the approval stage: the reason names the stage and, where one
// is known, when approval will be asked. CI saw "canary watch ends in NaNs" for an approval sent
// while the canary was still being deployed.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { whyNotAwaitingApproval } from '../../../src/workflows/promotion/handlers';
import type { PromotionState } from '../../../src/workflows/messages';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const at = (stage: PromotionState['stage'], extra: Partial<PromotionState> = {}) =>
  ({ stage, ...extra }) as PromotionState;

test('canary being deployed: says so, with no time (its watch has not started)', () => {
  const why = whyNotAwaitingApproval(at('canary'), NOW);
  assert.equal(
    why,
    'not awaiting approval: stage is canary; the canary is being deployed and its watch has not started',
  );
  assert.doesNotMatch(why, /NaN/);
});

test('canary watching: the time left in the watch', () => {
  const why = whyNotAwaitingApproval(at('canary', { canaryWatchEndsAt: '2026-11-29T12:05:00.000Z' }), NOW);
  assert.match(why, /^not awaiting approval: stage is canary; canary watch ends in 5m/);
});

test('baking: the time left in the bake and its end', () => {
  const why = whyNotAwaitingApproval(at('baking', { bakeEndsAt: '2026-11-30T12:00:00.000Z' }), NOW);
  assert.match(why, /stage is baking; bake ends in 24h.*\(2026-11-30T12:00:00.000Z\)/);
});
