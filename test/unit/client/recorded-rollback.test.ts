// What a promotion's history says must be restored when it ended without its own rollback.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { restoresFromHistory, type ActivityEvent } from '../../../src/client/recorded-rollback';
import type { EnvironmentSnapshot } from '../../../src/integrations/deployer';
import type { Environment } from '../../../src/workflows/messages';

const snap = (environment: Environment, version = 'v1'): EnvironmentSnapshot => ({
  service: 'search-service',
  environment,
  stable: { version, replicas: 4 },
  canary: null,
  capturedAt: `2026-11-26T10:00:0${environment === 'staging' ? 0 : 1}.000Z`,
  deployer: 'simulated',
});
const snapshot = (s: EnvironmentSnapshot): ActivityEvent[] => [
  { kind: 'scheduled', name: 'snapshotEnvironment', args: [s.service, s.environment] },
  { kind: 'completed', name: 'snapshotEnvironment', args: [s.service, s.environment], result: s },
];
const scheduled = (name: string, ...args: unknown[]): ActivityEvent => ({ kind: 'scheduled', name, args });
const restore = (s: EnvironmentSnapshot, completed: boolean): ActivityEvent[] => [
  scheduled('restoreEnvironment', s),
  ...(completed ? [{ kind: 'completed' as const, name: 'restoreEnvironment', args: [s], result: {} }] : []),
];
const deployStaging = scheduled('deployToEnvironment', {
  service: 'search-service',
  environment: 'staging',
  version: 'v2',
});
const deployCanary = scheduled('deployCanary', { service: 'search-service', version: 'v2', percent: 10 });
const envs = (r: ReturnType<typeof restoresFromHistory>) => r.restores.map((x) => x.environment);

describe('restoresFromHistory', () => {
  test('a snapshot followed by a scheduled deploy is restored, even if the deploy never completed', () => {
    const r = restoresFromHistory([...snapshot(snap('staging')), deployStaging]);
    assert.deepEqual(r.restores, [{ label: 'restore staging', environment: 'staging', snapshot: snap('staging') }]);
  });

  test('a snapshot with no deploy after it is left alone (nothing was touched)', () => {
    const r = restoresFromHistory([...snapshot(snap('staging')), deployStaging, ...snapshot(snap('production'))]);
    assert.deepEqual(envs(r), ['staging']);
  });

  test('canary and full rollout land on the production snapshot; restores are oldest first', () => {
    const r = restoresFromHistory([
      ...snapshot(snap('staging')),
      deployStaging,
      ...snapshot(snap('production')),
      deployCanary,
      scheduled('promoteCanary', { service: 'search-service', version: 'v2' }),
    ]);
    assert.deepEqual(envs(r), ['staging', 'production']);
  });

  test('restores the promotion completed itself are not run again; a restore only scheduled is', () => {
    const r = restoresFromHistory([
      ...snapshot(snap('staging')),
      deployStaging,
      ...snapshot(snap('production')),
      deployCanary,
      ...restore(snap('production'), true),
      ...restore(snap('staging'), false),
    ]);
    assert.deepEqual(envs(r), ['staging']);
    assert.deepEqual(r.restoredByPromotion, ['production']);
  });

  test('a restore of a different snapshot does not count', () => {
    const r = restoresFromHistory([
      ...snapshot(snap('staging')),
      deployStaging,
      ...restore(snap('staging', 'v0'), true),
    ]);
    assert.deepEqual(envs(r), ['staging']);
  });

  test('a promotion that asked to release its slot had reached its own ending: nothing to undo', () => {
    const r = restoresFromHistory([
      ...snapshot(snap('staging')),
      deployStaging,
      scheduled('releaseSlot', 'airlock-blast-radius', 'promotion-x'),
    ]);
    assert.equal(r.finished, true);
    assert.deepEqual(r.restores, []);
  });

  test('the settings come from the policy gate', () => {
    const settings = { rollback: { maxRetryMinutes: 7 } };
    const r = restoresFromHistory([
      scheduled('evaluatePolicyGate', {}),
      { kind: 'completed', name: 'evaluatePolicyGate', args: [{}], result: { settings, findings: [] } },
    ]);
    assert.deepEqual(r.settings, settings);
  });
});
