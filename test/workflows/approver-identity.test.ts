// Approver identity against a real promotion on the time-skipping server: nobody in the change's
// author set approves (mixed case, through the GitHub login mapping), and the Slack bridge key
// alone never makes a quorum; a CLI-signed approval plus a Slack one still completes.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { refusal } from '../helpers/update-refusal';
import {
  createRig,
  feed,
  promotedApprovals,
  state,
  testPolicyYaml,
  timeSkippingEnv,
  untilStage,
} from '../helpers/harness';
import { bindingOfPromotion, signedApproval, testPublicKey, testSecretKey } from '../helpers/approver-keys';
import { parsePolicy } from '../../src/policy/config/load';
import { signedRequest } from '../../src/approvals/signed-request';
import { abortUpdate, approveUpdate } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** The test policy, with alice's GitHub login and the Slack bridge key. */
const policyText = testPolicyYaml({
  extra: `integrations:\n  slack: { bridgePublicKey: "${testPublicKey('slack-bridge')}" }\n`,
}).replace('{ id: alice,', '{ id: alice, github: Alice-GH,');
const loadPolicy = () => parsePolicy(policyText, 'test-policy');

describe('approver identity', () => {
  test('a co-author (by GitHub login, in another case) and the merger cannot approve; others can', async () => {
    const rig = createRig(env, { deps: { loadPolicy } });
    await rig.run(async () => {
      // The agent opened the PR; alice's GitHub account authored one of its commits; bob merged it.
      const h = await rig.start({ authors: ['airlock-agent[bot]', 'ALICE-gh', 'web-flow', 'Bob'] });
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] })),
        /^approve: "Alice-GH" is one of the change's authors .* and can never approve$/,
      );
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] })),
        /^approve: "bob" is one of the change's authors/,
      );
      // Nor through a signal, nor by stopping the change they made.
      await h.signal('approve', await signedApproval(env, h, 'alice'));
      assert.match(
        await refusal(h.executeUpdate(abortUpdate, { args: [{ by: 'BOB', reason: 'x' }] })),
        /not in approvers.allowed|authors/,
      );
      const carol = await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'carol')] });
      assert.deepEqual([carol.complete, carol.approvals.length], [false, 1]);
      const s = await state(h);
      assert.deepEqual(
        s.approvals.map((a) => a.approver),
        ['carol'],
      );
      assert.ok(
        s.refusals.some((r) => r.action === 'approve' && /"Alice-GH" is one of the change's authors/.test(r.reason)),
      );
      await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'end of test' }] });
      assert.equal((await h.result()).outcome, 'aborted');
    });
  });

  test('a forged Slack quorum is refused at the second bridge approval; a CLI-signed one completes it', async () => {
    const rig = createRig(env, { deps: { loadPolicy } });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      // Whoever holds the Slack signing secret makes the server sign for any mapped Slack user.
      const binding = await bindingOfPromotion(h);
      const viaBridge = async (approver: string, slackUser: string) =>
        signedRequest('approve', {
          workflowId: h.workflowId,
          approver,
          via: 'slack',
          slackUser,
          secretKey: testSecretKey('slack-bridge'),
          now: await env.currentTimeMs(),
          ...(binding ? { binding } : {}),
        });
      const first = await h.executeUpdate(approveUpdate, { args: [await viaBridge('alice', 'U0ALICE01')] });
      assert.deepEqual([first.complete, first.approvals[0].attribution], [false, 'slack-bridge']);
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [await viaBridge('bob', 'U0BOB0001')] })),
        /^approve: 1 of the approvals already rest on the Slack bridge key alone, the most approvers\.maxBridgeApprovals allows \(1\)/,
      );
      await h.signal('approve', await viaBridge('bob', 'U0BOB0001'));
      const s = await state(h);
      assert.equal(s.stage, 'awaiting_approval');
      assert.deepEqual(
        s.approvals.map((a) => a.approver),
        ['alice'],
      );
      assert.equal(s.refusals.filter((r) => /maxBridgeApprovals/.test(r.reason)).length, 2);
      // bob signs with his own key: the quorum rests on one bridge approval and one approver key.
      const second = await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      assert.equal(second.complete, true);
      assert.deepEqual(await promotedApprovals(env, h), [
        ['alice', 'slack-bridge'],
        ['bob', 'approver-key'],
      ]);
    });
  });
});
