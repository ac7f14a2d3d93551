// Cancellation that waits (issue 12, item 3), end to end in a real worker: a breach during the full
// production rollout cancels the promote activity; the cancel reaches it through its heartbeats,
// its signal aborts the deployer's rollout wait at once, the activity ends as cancelled (not as a
// result, not as a retried DeployFailed), and only then do the restores start. Time-skipping server.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { atRate, createRig, feed, sendSample, state, timeSkippingEnv, untilStage } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { sleep } from '../../src/integrations/cancellation';
import type { Deployer } from '../../src/integrations/deployer';
import type { SimulatedDeployer } from '../../src/integrations/simulation/simulated-deployer';
import { approveUpdate, type PromotionResult } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SERVICE = 'notification-service';
const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };
/** A rollout that would take far longer than the test: only a cancellation ends it in time. */
const SLOW_ROLLOUT_MS = 10 * 60_000;

describe('a stop during a deploy activity', () => {
  test('breach mid-rollout: the promote activity is cancelled through its signal, the restores start after it ended', async () => {
    const events: { what: string; at: number }[] = [];
    const note = (what: string) => events.push({ what, at: Date.now() });
    let promoteAbortReason: unknown;
    const wrap = (d: SimulatedDeployer): Deployer => ({
      kind: d.kind,
      snapshot: d.snapshot.bind(d),
      deploy: d.deploy.bind(d),
      deployCanary: d.deployCanary.bind(d),
      // The full rollout: a long wait that honours the signal, then the simulated promote.
      promote: async (req, o) => {
        note('promote started');
        try {
          await sleep(SLOW_ROLLOUT_MS, o?.signal);
        } catch (err) {
          promoteAbortReason = err;
          note('promote ended by its signal');
          throw err;
        }
        return d.promote(req, o);
      },
      restore: async (snap, o) => {
        note(`restore ${snap.environment}`);
        return d.restore(snap, o);
      },
    });
    const rig = createRig(env, { wrapDeployer: wrap });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      for (let i = 0; i < 500 && !events.some((e) => e.what === 'promote started'); i++) await sleep(20);
      assert.equal((await state(h)).stage, 'production');
      const breachAt = Date.now();
      await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'breach');

      assert.ok(promoteAbortReason instanceof CancelledFailure, `aborted with ${String(promoteAbortReason)}`);
      const whats = events.map((e) => e.what);
      assert.deepEqual(whats.slice(-3), ['promote ended by its signal', 'restore production', 'restore staging']);
      assert.equal(whats.filter((w) => w === 'promote started').length, 1, 'the cancelled promote was not retried');
      const ended = events.find((e) => e.what === 'promote ended by its signal')!.at;
      // Bounded by the worker's heartbeat throttling (0.8 × the 20 s heartbeat timeout), not by the rollout.
      assert.ok(ended - breachAt < 60_000, `the cancel reached the deployer ${ended - breachAt} ms after the breach`);

      assert.ok(!rig.deployer.operations.some((o) => o.op === 'promote'), 'the simulated promote never ran');
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
      assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
    });
  });
});
