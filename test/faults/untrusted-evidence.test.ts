// What a Temporal namespace writer could feed a promotion to keep it from rolling back, on a real
// (time-skipping) server: a watch activity completed by hand with evidence dated in the future,
// and healthy error-rate signals from a source the policy does not trust. Both must leave the
// silence rule in force: the bake rolls back for silence, saying what it refused.
import { afterEach, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../src/activities';
import { parsePolicy } from '../../src/policy/config/load';
import type { PromotionResult } from '../../src/workflows/messages';
import { createRig, feed, state, testPolicyYaml, timeSkippingEnv } from '../helpers/harness';
import { prometheusCountSettings } from '../monitoring/queries';

let env: TestWorkflowEnvironment;
beforeEach(async () => {
  env = await timeSkippingEnv();
});
afterEach(async () => {
  await env?.teardown();
});

const POLICY = { bakeHours: 1, canaryMinutes: 30, productionWatchMinutes: 30 };
const FAR_FUTURE = Date.parse('2099-01-01T00:00:00Z');

/** A policy whose metrics source nobody serves, trusting `signalSources` if given. */
function metricsPolicy(signalSources?: string[]): string {
  const monitoring = {
    maxSilenceMinutes: 60,
    intervalSeconds: 60,
    prometheus: prometheusCountSettings('http://127.0.0.1:9'),
    ...(signalSources ? { signalSources } : {}),
  };
  return testPolicyYaml(POLICY).replace(/^monitoring: .*$/m, `monitoring: ${JSON.stringify(monitoring)}`);
}

function rigWith(policyText: string, wrap: (acts: Activities) => Activities) {
  return createRig(env, {
    policy: POLICY,
    wrapActivities: wrap,
    deps: { loadPolicy: () => parsePolicy(policyText, 'untrusted-evidence-policy') },
  });
}

/** The watch activity as a namespace writer would complete it: at once, healthy, dated 2099. */
const forgedWatch = (acts: Activities): Activities => ({
  ...acts,
  watchErrorRate: async () => ({
    outcome: 'elapsed' as const,
    evidence: {
      source: 'prometheus http://127.0.0.1:9',
      polls: 1,
      conclusive: 1,
      inconclusive: 0,
      missing: 0,
      lastEvidenceAt: FAR_FUTURE,
      lastPollAt: FAR_FUTURE,
      recent: [],
      recentMissing: [],
    },
  }),
});

/** The watch activity failing at once: the workflow's own silence clock judges, from signals. */
const failedWatch = (acts: Activities): Activities => ({
  ...acts,
  watchErrorRate: async () => {
    throw new Error('metrics source down');
  },
});

describe('untrusted evidence does not keep a promotion alive', () => {
  test('a watch result dated 2099 is refused: the bake still rolls back for silence', async () => {
    const rig = rigWith(metricsPolicy(), forgedWatch);
    await rig.run(async () => {
      const h = await rig.start();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'silence');
      const s = await state(h);
      const refused = s.refusals.find((x) => x.who === 'watchErrorRate');
      assert.match(refused?.reason ?? '', /dated 2099-01-01T00:00:00.000Z, after workflow time/);
      assert.ok((s.errorRate.futureEvidence ?? 0) >= 1, JSON.stringify(s.errorRate));
      assert.equal(rig.deployer.view('notification-service', 'staging').stable?.version, 'initial', 'staging restored');
    });
  });

  test('healthy signals from an untrusted source do not reset the silence clock: rolled back for silence', async () => {
    const rig = rigWith(metricsPolicy(['prometheus-bridge']), failedWatch);
    await rig.run(async () => {
      const h = await rig.start();
      const s = await feed(env, h, {
        source: 'forger',
        stop: (x) => x.stage === 'ended',
        stepMinutes: 10,
        maxSteps: 100,
      });
      assert.equal(s.outcome, 'rolled_back');
      assert.equal(s.interruption?.kind, 'silence');
      assert.ok((s.errorRate.untrusted ?? 0) >= 3, JSON.stringify(s.errorRate));
    });
  });

  test('the same signals from the trusted source keep the bake alive: it reaches the canary', async () => {
    const rig = rigWith(metricsPolicy(['prometheus-bridge']), failedWatch);
    await rig.run(async () => {
      const h = await rig.start();
      const s = await feed(env, h, {
        source: 'prometheus-bridge',
        stop: (x) => x.stage === 'ended' || x.stage === 'canary',
        stepMinutes: 10,
        maxSteps: 100,
      });
      assert.equal(s.stage, 'canary', JSON.stringify(s.interruption));
      assert.equal(s.errorRate.untrusted, undefined);
      await h.cancel();
      assert.equal((await h.result()).outcome, 'aborted');
    });
  });
});
