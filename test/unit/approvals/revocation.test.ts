// Revocation rules (src/approvals/revocation.ts) and the policy's revokedKeys field: a key counts
// only if the gate's policy and the current one both allow it.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { parsePolicy, PolicyError } from '../../../src/policy/config/load';
import { promotionSettings } from '../../../src/policy/config/schema';
import { whyNoLongerAllowed, type ApproverSet } from '../../../src/approvals/revocation';
import { testPublicKey } from '../../helpers/approver-keys';

const [ALICE, BOB, BRIDGE] = [testPublicKey('alice'), testPublicKey('bob'), testPublicKey('bridge')];

function policyText(o: { revoked?: string[]; bob?: string; bridge?: string } = {}): string {
  return `version: 1
approvers:
  allowed:
    - { id: alice, slack: U0ALICE01, publicKey: "${ALICE}" }
    - { id: bob, slack: U0BOB0001, publicKey: "${o.bob ?? BOB}" }
  revokedKeys: [${(o.revoked ?? []).map((k) => `"${k}"`).join(', ')}]
integrations: { slack: { bridgePublicKey: "${o.bridge ?? BRIDGE}" } }
`;
}

const gate = promotionSettings(parsePolicy(policyText()).policy);

function currentSet(text: string): ApproverSet {
  const { policy, hash } = parsePolicy(text);
  return {
    policyHash: hash,
    allowed: policy.approvers.allowed,
    bridgePublicKey: policy.integrations.slack?.bridgePublicKey,
    revokedKeys: policy.approvers.revokedKeys,
  };
}

describe('whyNoLongerAllowed', () => {
  test('an unchanged policy allows every approver by every attribution', () => {
    const now = currentSet(policyText());
    for (const attribution of ['approver-key', 'slack-bridge', 'unsigned'] as const)
      assert.equal(whyNoLongerAllowed(gate, now, 'alice', attribution), undefined);
  });

  test('removal from the list refuses every attribution, naming the policy read', () => {
    const now = currentSet(policyText());
    now.allowed = now.allowed.filter((a) => a.id !== 'alice');
    for (const attribution of ['approver-key', 'slack-bridge', 'unsigned'] as const)
      assert.match(
        whyNoLongerAllowed(gate, now, 'alice', attribution) ?? '',
        new RegExp(
          `"alice" was removed from approvers.allowed since the gate \\(current policy ${now.policyHash.slice(0, 12)}\\)`,
        ),
      );
  });

  test("a revoked or rotated key refuses that approver's key, not their Slack approvals or anyone else", () => {
    const rotated = currentSet(policyText({ bob: testPublicKey('bob-2'), revoked: [BOB] }));
    assert.match(
      whyNoLongerAllowed(gate, rotated, 'bob', 'approver-key') ?? '',
      /of "bob" is in approvers.revokedKeys/,
    );
    assert.equal(whyNoLongerAllowed(gate, rotated, 'bob', 'slack-bridge'), undefined);
    assert.equal(whyNoLongerAllowed(gate, rotated, 'alice', 'approver-key'), undefined);
    const replaced = currentSet(policyText({ bob: testPublicKey('bob-2') }));
    assert.match(
      whyNoLongerAllowed(gate, replaced, 'bob', 'approver-key') ?? '',
      /the key .{8}… of "bob" that the gate recorded is no longer theirs/,
    );
  });

  test('a revoked or replaced bridge key refuses every Slack approval, not signed ones', () => {
    const revoked = currentSet(policyText({ bridge: testPublicKey('bridge-2'), revoked: [BRIDGE] }));
    assert.match(
      whyNoLongerAllowed(gate, revoked, 'alice', 'slack-bridge') ?? '',
      /Slack bridge key .{8}… is in approvers\.revokedKeys/,
    );
    assert.equal(whyNoLongerAllowed(gate, revoked, 'alice', 'approver-key'), undefined);
    const replaced = currentSet(policyText({ bridge: testPublicKey('bridge-2') }));
    assert.match(whyNoLongerAllowed(gate, replaced, 'bob', 'slack-bridge') ?? '', /no longer the policy's/);
  });

  test('a Slack user moved to another person no longer approves as them', () => {
    const now = currentSet(policyText().replace('U0ALICE01', 'U0ALICE02'));
    assert.match(
      whyNoLongerAllowed(gate, now, 'alice', 'slack-bridge') ?? '',
      /the Slack user of "alice" changed since the gate .*\(U0ALICE01 → U0ALICE02\)/,
    );
  });
});

describe('approvers.revokedKeys in the policy', () => {
  function problems(text: string): string[] {
    try {
      parsePolicy(text, 'p.yaml');
    } catch (err) {
      assert.ok(err instanceof PolicyError);
      return err.problems;
    }
    return assert.fail('the policy was accepted');
  }

  test('defaults to none', () => {
    assert.deepEqual(parsePolicy(policyText()).policy.approvers.revokedKeys, []);
  });

  test('a key that is revoked and still in use is refused at load, naming where it is used', () => {
    assert.deepEqual(problems(policyText({ revoked: [BOB] })), [
      'approvers.allowed.1.publicKey: "bob"\'s key is listed in approvers.revokedKeys; give "bob" a new key (airlock keygen)',
    ]);
    assert.deepEqual(problems(policyText({ revoked: [BRIDGE] })), [
      'integrations.slack.bridgePublicKey: is listed in approvers.revokedKeys; give the server a new bridge key',
    ]);
  });

  test('an entry that is not a public key is refused with its index', () => {
    assert.deepEqual(problems(policyText({ revoked: ['not-a-key'] })), [
      'approvers.revokedKeys.0: must be base64 of a raw 32-byte ed25519 public key',
    ]);
  });
});
