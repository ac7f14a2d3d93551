// Issue 15 item 6: a signature binds the promotion's merge commit and policy hash, which the
// workflow takes from its own state. A signature made for the same workflow id but another commit
// or policy, or one that binds neither (v1 / v2), is refused; what `airlock approve` signs counts.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { createRig, feed, promotedApprovals, state, timeSkippingEnv, untilStage } from '../helpers/harness';
import { bindingOfPromotion, testSecretKey } from '../helpers/approver-keys';
import { signedRequest } from '../../src/approvals/signed-request';
import { approve } from '../../src/cli/decisions';
import { approveUpdate, rejectUpdate, type PromotionResult } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => void (env = await timeSkippingEnv()));
afterAll(() => env?.teardown());

/** The reason an Update was refused with; fails when it was accepted. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected a refusal, got ${String(err)}`);
  return String((err.cause as Error).message);
}

const OTHER_COMMIT = 'b'.repeat(40);
const OTHER_POLICY = 'e'.repeat(64);

describe('signatures bind the commit and the policy hash', () => {
  test('signed for another commit, another policy or neither: refused and recorded; the CLI-signed approvals promote', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      const binding = await bindingOfPromotion(h);
      assert.ok(binding, 'the gate has decided: the promotion has a policy hash');
      assert.equal(binding.commit, (await state(h)).change.commit);
      const now = await env.currentTimeMs();
      const sign = (approver: string, b: typeof binding | undefined) =>
        signedRequest('approve', {
          workflowId: h.workflowId,
          approver,
          secretKey: testSecretKey(approver),
          now,
          ...(b ? { binding: b } : {}),
        });
      const covers = /signature does not verify .*covers a different commit\/policy than this promotion's \(stale\)/;

      // The same workflow id, a genuine key, but another merge (e.g. a later run reusing the id).
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [sign('alice', { ...binding, commit: OTHER_COMMIT })] })),
        covers,
      );
      // The same commit, but signed under another policy (it changed since the signer looked).
      assert.match(
        await refusal(
          h.executeUpdate(approveUpdate, { args: [sign('alice', { ...binding, policyHash: OTHER_POLICY })] }),
        ),
        covers,
      );
      // A v2-style signature: this workflow id only, no commit, no policy hash.
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [sign('bob', undefined)] })),
        /signature covers no commit or policy hash.*this promotion accepts only signatures over its own commit/,
      );
      // A stop is bound the same way once the gate has decided.
      const staleReject = signedRequest('reject', {
        workflowId: h.workflowId,
        approver: 'carol',
        text: 'meant for the earlier merge',
        secretKey: testSecretKey('carol'),
        now,
        binding: { ...binding, commit: OTHER_COMMIT },
      });
      assert.match(await refusal(h.executeUpdate(rejectUpdate, { args: [staleReject] })), covers);
      // The refusal names this promotion's own commit and policy (short forms) and nothing secret.
      const s = await state(h);
      assert.equal(s.stage, 'awaiting_approval');
      assert.deepEqual(s.approvals, []);
      const refusals = s.refusals.map((r) => r.reason);
      assert.equal(refusals.length, 4, refusals.join('\n'));
      const own = `commit ${binding.commit.slice(0, 12)}, policy ${binding.policyHash.slice(0, 12)}`;
      for (const r of refusals) {
        assert.ok(r.includes(own), r);
        assert.ok(!r.includes(OTHER_COMMIT.slice(0, 12)) && !r.includes(OTHER_POLICY.slice(0, 12)), r);
      }

      // The legitimate path: `airlock approve --key`, which signs what the promotion's state shows.
      const client = env.client;
      const first = await approve({
        client,
        workflowId: h.workflowId,
        approver: 'alice',
        privateKey: testSecretKey('alice'),
        now,
      });
      assert.deepEqual(first.signedFor, binding);
      const second = await approve({
        client,
        workflowId: h.workflowId,
        approver: 'bob',
        privateKey: testSecretKey('bob'),
        now,
      });
      assert.equal(second.complete, true);
      assert.deepEqual(await promotedApprovals(env, h), [
        ['alice', 'approver-key'],
        ['bob', 'approver-key'],
      ]);
    });
  });

  test('a stop signed while the gate runs (no policy hash yet) still counts once the gate has decided', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let started = false;
    const rig = createRig(env, {
      deps: {
        checkChange: async () => {
          started = true;
          await released;
          return [];
        },
      },
    });
    await rig.run(async () => {
      const h = await rig.start();
      for (let i = 0; i < 400 && !started; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(started, 'the policy gate is running');
      // What `airlock reject --key` sends now: the state has no policy hash, so it binds none.
      const binding = await bindingOfPromotion(h);
      assert.equal(binding, undefined, 'no policy hash to sign for yet');
      const signed = signedRequest('reject', {
        workflowId: h.workflowId,
        approver: 'carol',
        text: 'not this change',
        secretKey: testSecretKey('carol'),
        now: await env.currentTimeMs(),
      });
      await h.signal('reject', signed);
      assert.equal((await state(h)).stage, 'policy_gate', 'the signal arrived while the gate ran');
      release();
      const r: PromotionResult = await h.result();
      assert.deepEqual(r.interruption, { kind: 'rejected', by: 'carol', reason: 'not this change' });
      assert.deepEqual((await state(h)).refusals, []);
    });
  });
});
