// Revocation on real Temporal: the policy file changes while a promotion awaits approval, and each
// approval is checked against the file as it is then, as well as the gate's (issue 15, item 5).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createRig, feed, state, testPolicyYaml, timeSkippingEnv, untilStage } from '../helpers/harness';
import { bindingOfPromotion, signedApproval, testPublicKey, testSecretKey } from '../helpers/approver-keys';
import { parsePolicy } from '../../src/policy/config/load';
import { signedRequest } from '../../src/approvals/signed-request';
import { approveSignal, approveUpdate, type ApprovalRequest, type PromotionResult } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const BRIDGE = 'slack-bridge';
const bridgePolicy = `integrations: { slack: { bridgePublicKey: "${testPublicKey(BRIDGE)}" } }`;

/** A rig whose worker reads `policy.text` at every load, as a worker reads its policy file. */
function rigWithEditablePolicy(extra = '') {
  const policy = { text: testPolicyYaml({ extra }) };
  const rig = createRig(env, { deps: { loadPolicy: () => parsePolicy(policy.text, 'edited-policy') } });
  return { rig, policy };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('expected the approval to be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError);
  return String((err.cause as Error).message);
}

const approve = (h: WorkflowHandle, req: ApprovalRequest) => h.executeUpdate(approveUpdate, { args: [req] });

/** An approval signed with `keyName`'s key (not necessarily the approver's own). */
async function signedWith(h: WorkflowHandle, approver: string, keyName: string, extra: object = {}) {
  const binding = await bindingOfPromotion(h);
  return signedRequest('approve', {
    workflowId: h.workflowId,
    approver,
    secretKey: testSecretKey(keyName),
    now: await env.currentTimeMs(),
    ...(binding ? { binding } : {}),
    ...extra,
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('revocation: the current policy is read at each approval', () => {
  test('an approver removed after the gate is refused at once; the others still complete, checked against the new file', async () => {
    const { rig, policy } = rigWithEditablePolicy();
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      policy.text = policy.text.replace(/^ {4}- \{ id: alice, .*\n/m, '');
      assert.doesNotMatch(policy.text, /id: alice/);

      const msg = await refusal(approve(h, await signedApproval(env, h, 'alice')));
      assert.match(msg, /"alice" was removed from approvers\.allowed since the gate .*removals take effect at once/);
      let s = await state(h);
      assert.deepEqual(s.approvals, []);
      assert.ok(s.refusals.some((r) => r.who === 'alice' && /removed from approvers\.allowed/.test(r.reason)));

      await approve(h, await signedApproval(env, h, 'bob'));
      const last = await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'carol')] });
      assert.equal(last.complete, true);
      s = await state(h);
      assert.deepEqual(
        s.approvals.map((a) => [a.approver, a.checkedPolicyHash]),
        [
          ['bob', sha256(policy.text)],
          ['carol', sha256(policy.text)],
        ],
      );
      assert.notEqual(sha256(policy.text), s.policyHash, 'the gate recorded the file before the edit');
      await feed(env, h, { stop: untilStage('ended') });
      assert.equal(((await h.result()) as PromotionResult).outcome, 'promoted');
    });
  });

  test('a revoked key is refused, a rotated key does not widen the gate, an approver added later cannot approve', async () => {
    const { rig, policy } = rigWithEditablePolicy();
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      // bob's key leaked: it is revoked, bob gets a new one, and dave joins the team.
      policy.text = policy.text
        .replace(testPublicKey('bob'), testPublicKey('bob-rotated'))
        .replace('  required: 2\n', `  required: 2\n  revokedKeys: ["${testPublicKey('bob')}"]\n`)
        .replace(/^( {4}- \{ id: carol, .*\n)/m, `$1    - { id: dave, publicKey: "${testPublicKey('dave')}" }\n`);
      parsePolicy(policy.text); // the edit itself is a valid policy

      assert.match(
        await refusal(approve(h, await signedWith(h, 'bob', 'bob'))),
        /the key .{8}… of "bob" is in approvers\.revokedKeys since the gate/,
      );
      // The new key was not bob's when the gate ran: the gate's set is checked first, and refuses it.
      assert.match(
        await refusal(approve(h, await signedWith(h, 'bob', 'bob-rotated'))),
        /does not verify with the public key of "bob"/,
      );
      assert.match(
        await refusal(approve(h, await signedWith(h, 'dave', 'dave'))),
        /"dave" is not in approvers\.allowed/,
      );
      assert.deepEqual((await state(h)).approvals, []);
      await approve(h, await signedApproval(env, h, 'alice'));
      await approve(h, await signedApproval(env, h, 'carol'));
      await feed(env, h, { stop: untilStage('ended') });
      assert.equal(((await h.result()) as PromotionResult).outcome, 'promoted');
    });
  });

  test('the Slack bridge key revoked after the gate stops every Slack approval; an unreadable policy refuses, records nothing', async () => {
    const { rig, policy } = rigWithEditablePolicy(bridgePolicy);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      const viaSlack = async () => signedWith(h, 'alice', BRIDGE, { via: 'slack' as const, slackUser: 'U0ALICE01' });
      const good = policy.text;

      // A policy file that does not load cannot say who is revoked: refused, nothing recorded.
      policy.text = good.replace('required: 2', 'required: two');
      assert.match(
        await refusal(approve(h, await viaSlack())),
        /the current approver set could not be read \(.*approvers\.required.*\); nothing was recorded, approve again/,
      );
      assert.deepEqual((await state(h)).approvals, []);

      policy.text = good
        .replace(testPublicKey(BRIDGE), testPublicKey('slack-bridge-2'))
        .replace('  required: 2\n', `  required: 2\n  revokedKeys: ["${testPublicKey(BRIDGE)}"]\n`);
      assert.match(
        await refusal(approve(h, await viaSlack())),
        /the Slack bridge key .{8}… is in approvers\.revokedKeys/,
      );

      // Restored: the same kind of request is accepted, so the refusals above were the revocation's.
      policy.text = good;
      await approve(h, await viaSlack());
      await approve(h, await signedApproval(env, h, 'bob'));
      const s = await state(h);
      assert.deepEqual(
        s.approvals.map((a) => [a.approver, a.attribution]),
        [
          ['alice', 'slack-bridge'],
          ['bob', 'approver-key'],
        ],
      );
      await feed(env, h, { stop: untilStage('ended') });
      assert.equal(((await h.result()) as PromotionResult).outcome, 'promoted');
    });
  });
  test('once the required approvals are in, a further approval is refused, even while the last is still being checked', async () => {
    // The second approval's check of the current policy is held open: before the fix, the stage
    // stayed awaiting_approval until the rollout began and a third approval was accepted meanwhile.
    let release!: () => void;
    let reading!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const readStarted = new Promise<void>((r) => (reading = r));
    let reads = 0;
    const rig = createRig(env, {
      wrapActivities: (acts) => ({
        ...acts,
        currentApproverSet: async () => {
          if (++reads === 2) {
            reading();
            await held;
          }
          return acts.currentApproverSet();
        },
      }),
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await approve(h, await signedApproval(env, h, 'alice'));
      await h.signal(approveSignal, await signedApproval(env, h, 'carol'));
      await readStarted;
      // Accepted, bob's approval would wait behind carol's held check: a timer says so instead of a hang.
      const third = refusal(approve(h, await signedApproval(env, h, 'bob')));
      const accepted = new Promise<string>((r) => setTimeout(() => r('accepted: waiting for its check'), 15_000));
      const msg = await Promise.race([third, accepted]);
      release();
      assert.match(msg, /not awaiting approval: approved by alice, carol; .*carol still being checked/);
      await feed(env, h, { stop: untilStage('ended') });
      const result = (await h.result()) as PromotionResult;
      assert.equal(result.outcome, 'promoted');
      assert.deepEqual(
        result.approvals.map((a) => a.approver),
        ['alice', 'carol'],
      );
    });
  });
});
