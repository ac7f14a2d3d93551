// The v3 canonical form binds the merge commit and the policy hash (issue 15 item 6): its field
// order, its separation from the v1 / v2 forms, and the identity rule the workflow applies with it.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  canonicalDecision,
  signDecision,
  verifyDecisionSignature,
  type DecisionAction,
  type DecisionClaim,
} from '../../../src/approvals/decision-signature';
import { bindingOf, describeBinding } from '../../../src/approvals/decision-binding';
import { signedRequest } from '../../../src/approvals/signed-request';
import { checkDecisionIdentity, type IdentityContext } from '../../../src/approvals/verify-decision';
import { parsePolicy } from '../../../src/policy/config/load';
import { promotionSettings } from '../../../src/policy/config/schema';
import { initialState } from '../../../src/workflows/promotion/initial-state';
import { testPolicyYaml } from '../../helpers/harness';
import { testPublicKey, testSecretKey } from '../../helpers/approver-keys';

const COMMIT = 'a'.repeat(40);
const POLICY = 'f'.repeat(64);
const D1 = `sha256:${'1'.repeat(64)}`;
const WID = `promotion-svc-${COMMIT}`;
const claim: DecisionClaim = {
  workflowId: WID,
  action: 'approve',
  approver: 'alice',
  via: 'cli',
  text: 'ok',
  at: '2026-11-27T00:00:00.000Z',
  nonce: 'nonce-0123456789',
  binding: { commit: COMMIT, policyHash: POLICY },
};
const text = (c: DecisionClaim) => new TextDecoder().decode(canonicalDecision(c));

describe('the v3 canonical form', () => {
  test('field order: domain, workflow id, commit, policy hash, change digest or null, then the v1 fields', () => {
    assert.equal(
      text(claim),
      JSON.stringify([
        'airlock-decision-v3',
        WID,
        COMMIT,
        POLICY,
        null,
        'approve',
        'alice',
        'cli',
        '',
        'ok',
        claim.at,
        claim.nonce,
      ]),
    );
    assert.deepEqual(JSON.parse(text({ ...claim, changeDigest: D1 })).slice(0, 6), [
      'airlock-decision-v3',
      WID,
      COMMIT,
      POLICY,
      D1,
      'approve',
    ]);
  });

  test('domain separation: no v3 bytes equal any v1 / v2 bytes, and no two different claims share bytes', () => {
    const str = fc.string({ maxLength: 12 });
    const arbClaim = fc.record(
      {
        workflowId: str,
        action: fc.constantFrom<DecisionAction>('approve', 'reject', 'abort', 'resolve'),
        approver: str,
        via: str,
        slackUser: str,
        text: str,
        changeDigest: str,
        at: str,
        nonce: str,
        binding: fc.record({ commit: str, policyHash: str }),
      },
      { requiredKeys: ['workflowId', 'action', 'approver', 'via', 'at', 'nonce'] },
    );
    fc.assert(
      fc.property(arbClaim, arbClaim, (a, b) => {
        const ta = text(a);
        const tb = text(b);
        assert.equal(ta.startsWith('["airlock-decision-v3"'), a.binding !== undefined);
        if ((a.binding === undefined) !== (b.binding === undefined)) assert.notEqual(ta, tb);
        // Injective: equal bytes only for claims that say the same thing.
        if (ta === tb) assert.deepEqual(JSON.parse(ta), JSON.parse(tb));
      }),
      { numRuns: 2000 },
    );
    // The same claim, bound and not: never the same bytes, never the same valid signature.
    const { binding, ...unbound } = claim;
    assert.ok(binding);
    for (const c of [unbound, { ...unbound, changeDigest: D1 }]) assert.notEqual(text({ ...c, binding }), text(c));
    const sig = signDecision(claim, testSecretKey('alice')).value;
    assert.ok(verifyDecisionSignature(claim, sig, testPublicKey('alice')));
    assert.ok(!verifyDecisionSignature(unbound, sig, testPublicKey('alice')), 'read as v1');
    assert.ok(
      !verifyDecisionSignature(
        { ...claim, binding: { ...binding, commit: 'b'.repeat(40) } },
        sig,
        testPublicKey('alice'),
      ),
    );
    assert.ok(
      !verifyDecisionSignature(
        { ...claim, binding: { ...binding, policyHash: 'e'.repeat(64) } },
        sig,
        testPublicKey('alice'),
      ),
    );
  });

  test('bindingOf reads commit and policy hash from state; none before the gate decided; short forms for people', () => {
    const s = initialState(WID, { service: 'svc', commit: COMMIT, version: 'v', author: 'bot' }, '');
    assert.equal(bindingOf(s), undefined);
    assert.match(describeBinding(undefined), /policy gate is still running/);
    s.policyHash = POLICY;
    assert.deepEqual(bindingOf(s), { commit: COMMIT, policyHash: POLICY });
    assert.equal(describeBinding(bindingOf(s)), `commit ${'a'.repeat(12)}, policy ${'f'.repeat(12)}`);
  });
});

describe('checkDecisionIdentity with a binding', () => {
  const settings = promotionSettings(parsePolicy(testPolicyYaml()).policy);
  const now = Date.parse('2026-11-27T00:00:00.000Z');
  const ctx = (o: Partial<IdentityContext> = {}): IdentityContext => ({
    workflowId: WID,
    action: 'approve',
    settings,
    now,
    usedSignatures: new Set(),
    binding: { commit: COMMIT, policyHash: POLICY },
    requireBinding: true,
    ...o,
  });
  const req = (binding?: { commit: string; policyHash: string }) =>
    signedRequest('approve', {
      workflowId: WID,
      approver: 'alice',
      secretKey: testSecretKey('alice'),
      now,
      ...(binding ? { binding } : {}),
    });

  test('bound to this commit and policy: accepted', () => {
    assert.deepEqual(checkDecisionIdentity(req({ commit: COMMIT, policyHash: POLICY }), ctx()), {
      ok: true,
      attribution: 'approver-key',
    });
  });

  test('bound to another commit or policy: refused as covering a different commit/policy, naming only its own', () => {
    for (const other of [
      { commit: 'b'.repeat(40), policyHash: POLICY },
      { commit: COMMIT, policyHash: 'e'.repeat(64) },
    ]) {
      const r = checkDecisionIdentity(req(other), ctx());
      assert.equal(r.ok, false);
      if (r.ok) continue;
      assert.match(
        r.reason,
        /^approve: signature does not verify with the public key of "alice" for this promotion's commit aaaaaaaaaaaa, policy ffffffffffff/,
      );
      assert.match(r.reason, /covers a different commit\/policy than this promotion's \(stale\)/);
      assert.ok(!r.reason.includes('bbbbbbbbbbbb') && !r.reason.includes('eeeeeeeeeeee'), r.reason);
    }
  });

  test('unbound (v1 / v2): refused once the patch is on; accepted for histories before it', () => {
    const r = checkDecisionIdentity(req(), ctx());
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /signature covers no commit or policy hash/);
    assert.deepEqual(checkDecisionIdentity(req(), ctx({ requireBinding: false })), {
      ok: true,
      attribution: 'approver-key',
    });
    // Before the gate decided there is nothing to bind: the v1 / v2 rule applies.
    assert.deepEqual(checkDecisionIdentity(req(), ctx({ binding: undefined })), {
      ok: true,
      attribution: 'approver-key',
    });
  });

  test('histories before the patch also accept a signature bound to their own commit and policy, never another', () => {
    const old = ctx({ requireBinding: false });
    assert.equal(checkDecisionIdentity(req({ commit: COMMIT, policyHash: POLICY }), old).ok, true);
    assert.equal(checkDecisionIdentity(req({ commit: 'b'.repeat(40), policyHash: POLICY }), old).ok, false);
  });
});
