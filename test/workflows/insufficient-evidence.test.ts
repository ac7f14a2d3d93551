// A watch that ends without the traffic to judge it (issue 14, item 3): its sequential test could
// not have caught a doubling of the error rate. rollback.onInsufficientEvidence decides: rollback
// (the default, as silence does) leaves both environments as they were; hold goes on to the
// approvers with the shortfall in the state they see. Time-skipping server, real 24 h bake.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, feed, state, timeSkippingEnv, untilStage, type SampleCounts } from '../helpers/harness';
import { errorRateEvidenceLines } from '../../src/common/error-rate-evidence';
import { describeInterruption } from '../../src/client/render-status';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SERVICE = 'notification-service';
const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };
// Staging: plenty (1,000 requests per 20 minutes at 1 %, against 1 % before the deploy).
const BUSY: SampleCounts = { errors: 10, requests: 1_000, baselineErrors: 90, baselineRequests: 9_000 };
// The canary: 20 requests a minute beside 180 on the stable version, at 1 % both.
const QUIET: SampleCounts = { errors: 0, requests: 20, baselineErrors: 2, baselineRequests: 180 };

describe('rollback.onInsufficientEvidence', () => {
  test('rollback (default): a canary too quiet to judge is rolled back when its watch ends, saying how many requests it needed', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start({ service: SERVICE });
      await feed(env, h, { stop: untilStage('canary'), counts: BUSY });
      // feed returns when the promotion has ended, and throws if it is still running after an hour.
      await feed(env, h, { stop: () => false, stepMinutes: 1, counts: QUIET, maxSteps: 60 });
      const r = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'insufficient_evidence', JSON.stringify(r.interruption));
      if (r.interruption?.kind !== 'insufficient_evidence') return;
      const { watch, environment, requests, needed } = r.interruption;
      assert.deepEqual([watch, environment], ['canary', 'production']);
      // The canary's 30-minute watch ends after about 30 one-minute samples of 20 requests.
      assert.ok(requests >= 20 * 28 && requests <= 20 * 31, `requests ${requests}`);
      assert.ok(needed !== null && needed > requests, `needed ${needed}`);
      assert.match(
        describeInterruption(r.interruption),
        /^rolled back: not enough traffic to judge the canary: \d+ requests \(about [\d,]+ needed to catch a doubling of the error rate\)/,
      );
      // The bake had the traffic: judged, no shortfall recorded for it.
      const final = await state(h);
      assert.equal(final.errorRate.insufficient?.staging, undefined);
      assert.deepEqual(final.errorRate.insufficient?.canary, { requests, needed });
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
      assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
    });
  });

  test('hold: the quiet canary goes on to the approvers, who see the shortfall', async () => {
    const rig = createRig(env, { policy: { onInsufficientEvidence: 'hold' } });
    await rig.run(async () => {
      const h = await rig.start({ service: SERVICE });
      try {
        await feed(env, h, { stop: untilStage('canary'), counts: BUSY });
        const s = await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 1, counts: QUIET });
        assert.equal(s.stage, 'awaiting_approval');
        const shortfall = s.errorRate.insufficient?.canary;
        assert.ok(shortfall && shortfall.needed !== null && shortfall.requests < shortfall.needed);
        assert.ok(
          errorRateEvidenceLines(s.errorRate).some((l) =>
            /^not enough traffic to judge the canary: [\d,]+ requests \(about [\d,]+ needed/.test(l),
          ),
          errorRateEvidenceLines(s.errorRate).join('\n'),
        );
        // The canary is still live while the humans decide.
        assert.equal(rig.deployer.view(SERVICE, 'production').canary?.version, 'v2');
      } finally {
        await h.terminate('test over');
      }
    });
  });
});
