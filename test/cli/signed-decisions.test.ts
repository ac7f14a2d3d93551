// CLI decisions against a real promotion on the time-skipping server: signed approvals count;
// forged, altered, replayed, stale, unsigned and fake-Slack ones are refused and recorded.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { createRig, feed, state, timeSkippingEnv, untilStage } from '../helpers/harness';
import { bindingOfPromotion, testSecretKey } from '../helpers/approver-keys';
import { approve, describeSignedFor, reject } from '../../src/cli/decisions';
import { productionDiff } from '../../src/cli/diff';
import { CliError, ExitCode } from '../../src/cli/errors';
import { encodeBase64 } from '../../src/approvals/base64';
import { signedRequest } from '../../src/approvals/signed-request';
import { approveUpdate, type PromotionResult } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

async function refusedWith(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    const msg =
      e instanceof WorkflowUpdateFailedError ? String((e.cause as Error).message) : String((e as Error).message);
    assert.match(msg, re);
    return true;
  });
}

function keyFile(name: string, mode = 0o600): string {
  const path = join(mkdtempSync(join(tmpdir(), 'airlock-key-')), `${name}.key`);
  writeFileSync(path, `${encodeBase64(testSecretKey(name))}\n`, { mode });
  return path;
}

describe('signed decisions through the CLI', () => {
  test('only signed, fresh, unaltered, first-use approvals count; every other one is refused and recorded', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      const wid = h.workflowId;
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      const now = await env.currentTimeMs();
      const client = env.client;
      // An image-tag promotion: its change is its version, there is no diff to show.
      await assert.rejects(
        productionDiff(client, wid),
        (e: unknown) => e instanceof CliError && /has no production change to show/.test(e.message),
      );

      // Signed as `airlock approve` signs: for this promotion's commit and policy hash.
      const binding = await bindingOfPromotion(h);
      assert.ok(binding, 'the gate has decided: the promotion has a policy hash');
      const aliceReq = signedRequest('approve', {
        binding,
        workflowId: wid,
        approver: 'alice',
        text: 'canary clean',
        secretKey: testSecretKey('alice'),
        now,
      });
      const first = await h.executeUpdate(approveUpdate, { args: [aliceReq] });
      assert.deepEqual(
        [first.approvals.length, first.complete, first.approvals[0].attribution],
        [1, false, 'approver-key'],
      );
      // The same signed bytes again: a replay, refused before anything else is looked at.
      await refusedWith(h.executeUpdate(approveUpdate, { args: [aliceReq] }), /already used once \(replay\)/);
      // A fresh signature by alice is genuine but she has already approved (not an identity problem).
      await refusedWith(
        approve({ client, workflowId: wid, approver: 'alice', privateKey: testSecretKey('alice'), now }),
        /already approved/,
      );

      const bobSigned = signedRequest('approve', {
        binding,
        workflowId: wid,
        approver: 'bob',
        secretKey: testSecretKey('bob'),
        now,
      });
      // Claiming to be bob, signed with another key.
      await refusedWith(
        approve({ client, workflowId: wid, approver: 'bob', privateKey: testSecretKey('mallory'), now }),
        /does not verify with the public key of "bob"/,
      );
      // Altered after signing: the comment is covered by the signature.
      await refusedWith(
        h.executeUpdate(approveUpdate, { args: [{ ...bobSigned, comment: 'added later' }] }),
        /does not verify/,
      );
      // Signed for another promotion.
      const elsewhere = signedRequest('approve', {
        binding,
        workflowId: `${wid}-other`,
        approver: 'bob',
        secretKey: testSecretKey('bob'),
        now,
      });
      await refusedWith(h.executeUpdate(approveUpdate, { args: [elsewhere] }), /does not verify/);
      // Stale: signed 30 minutes before workflow time (window 10 min).
      await refusedWith(
        approve({ client, workflowId: wid, approver: 'bob', privateKey: testSecretKey('bob'), now: now - 30 * 60_000 }),
        /30 min old; the window is ±10 min/,
      );
      // Unsigned, though bob has a public key.
      await refusedWith(approve({ client, workflowId: wid, approver: 'bob' }), /unsigned; "bob" has a publicKey/);
      // A raw signal claiming to come from Slack carries no bridge signature.
      await h.signal('approve', { approver: 'bob', via: 'slack', slackUser: 'U0BOB0001' });
      // alice's accepted approval replayed as a signal.
      await h.signal('approve', aliceReq);

      let s = await state(h);
      assert.deepEqual(
        s.approvals.map((a) => a.approver),
        ['alice'],
      );
      assert.equal(s.stage, 'awaiting_approval');
      const reasons = s.refusals.filter((r) => r.action === 'approve').map((r) => r.reason);
      assert.equal(reasons.length, 8, reasons.join('\n'));
      assert.equal(reasons.filter((r) => /replay/.test(r)).length, 2);
      assert.ok(reasons.some((r) => /via slack, but the policy has no integrations.slack.bridgePublicKey/.test(r)));

      // bob approves through the CLI with his key file: the second approval completes the set.
      const second = await approve({
        client,
        workflowId: wid,
        approver: 'bob',
        keyFile: keyFile('bob'),
        comment: 'looks good',
        now,
      });
      assert.equal(second.complete, true);
      // The CLI says which commit and policy the person signed for: this promotion's own.
      assert.deepEqual(second.signedFor, binding);
      assert.equal(
        describeSignedFor(second),
        ` (signed for commit ${binding.commit.slice(0, 12)}, policy ${binding.policyHash.slice(0, 12)})`,
      );
      await feed(env, h, { stop: () => false });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
      assert.deepEqual(
        r.approvals.map((a) => [a.approver, a.attribution]),
        [
          ['alice', 'approver-key'],
          ['bob', 'approver-key'],
        ],
      );
    });
  });

  test('a signed reject stops the promotion; a reject with a forged signature is refused and changes nothing', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      const now = await env.currentTimeMs();
      await refusedWith(
        reject({
          client: env.client,
          workflowId: h.workflowId,
          approver: 'carol',
          privateKey: testSecretKey('bob'),
          reason: 'x',
          now,
        }),
        /does not verify/,
      );
      assert.equal((await state(h)).stage, 'baking');
      await reject({
        client: env.client,
        workflowId: h.workflowId,
        approver: 'carol',
        keyFile: keyFile('carol'),
        reason: 'staging logs look wrong',
        now,
      });
      const r: PromotionResult = await h.result();
      assert.deepEqual(
        [r.outcome, r.interruption],
        ['rejected', { kind: 'rejected', by: 'carol', reason: 'staging logs look wrong' }],
      );
    });
  });

  test('bad CLI input is refused before anything is sent', async () => {
    await assert.rejects(
      approve({ client: env.client, workflowId: 'promotion-x-y', approver: 'alice', keyFile: keyFile('alice', 0o644) }),
      (e: unknown) =>
        e instanceof CliError && e.exitCode === ExitCode.Usage && /readable by group or others/.test(e.message),
    );
    await assert.rejects(
      approve({ client: env.client, workflowId: 'promotion-x-y', approver: 'alice', privateKey: 'not-a-key' }),
      (e: unknown) =>
        e instanceof CliError && e.exitCode === ExitCode.Usage && /32-byte ed25519 secret key/.test(e.message),
    );
    await assert.rejects(
      approve({
        client: env.client,
        workflowId: 'promotion-x-y',
        approver: 'alice',
        privateKey: testSecretKey('alice'),
        changeDigest: 'sha256:abc',
      }),
      (e: unknown) =>
        e instanceof CliError &&
        e.exitCode === ExitCode.Usage &&
        /--change "sha256:abc" must be sha256:/.test(e.message),
    );
    await assert.rejects(
      productionDiff(env.client, 'promotion-none-0000'),
      (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.NotFound,
    );
    await assert.rejects(
      reject({ client: env.client, workflowId: 'promotion-x-y', approver: 'alice', reason: '  ' }),
      (e: unknown) => e instanceof CliError && /--reason is required/.test(e.message),
    );
    await assert.rejects(
      approve({
        client: env.client,
        workflowId: 'promotion-none-0000',
        approver: 'alice',
        privateKey: testSecretKey('alice'),
      }),
      (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.NotFound,
    );
  });
});
