// An approval of a rendered change signs the digest of the production diff it approves: the bytes
// of a decision without one stay what earlier signers produced, and the digest cannot be moved,
// dropped or swapped without the signature failing.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { canonicalDecision, signDecision, verifyDecisionSignature } from '../../../src/approvals/decision-signature';
import { signedRequest } from '../../../src/approvals/signed-request';
import { checkApprovedChange } from '../../../src/workflows/promotion/handlers';
import { initialState } from '../../../src/workflows/promotion/initial-state';
import { testPublicKey, testSecretKey } from '../../helpers/approver-keys';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const claim = {
  workflowId: 'promotion-svc-' + 'a'.repeat(40),
  action: 'approve' as const,
  approver: 'alice',
  via: 'cli',
  at: '2026-11-27T00:00:00.000Z',
  nonce: 'nonce-0123456789',
};

describe('approvals sign the production change', () => {
  test('a decision without a digest keeps the v1 bytes; one with a digest is signed under its own domain', () => {
    const v1 = new TextDecoder().decode(canonicalDecision(claim));
    assert.equal(
      v1,
      JSON.stringify([
        'airlock-decision-v1',
        claim.workflowId,
        'approve',
        'alice',
        'cli',
        '',
        '',
        claim.at,
        claim.nonce,
      ]),
    );
    const v2 = JSON.parse(new TextDecoder().decode(canonicalDecision({ ...claim, changeDigest: D1 })));
    assert.equal(v2[0], 'airlock-decision-v2');
    assert.equal(v2.at(-1), D1);
  });

  test('the signature covers the digest: dropped, swapped or added, it no longer verifies', () => {
    const key = testSecretKey('alice');
    const pub = testPublicKey('alice');
    const sig = signDecision({ ...claim, changeDigest: D1 }, key).value;
    assert.ok(verifyDecisionSignature({ ...claim, changeDigest: D1 }, sig, pub));
    assert.ok(!verifyDecisionSignature({ ...claim, changeDigest: D2 }, sig, pub), 'swapped');
    assert.ok(!verifyDecisionSignature(claim, sig, pub), 'dropped');
    const plain = signDecision(claim, key).value;
    assert.ok(!verifyDecisionSignature({ ...claim, changeDigest: D1 }, plain, pub), 'added to a v1 signature');
  });

  test('signedRequest carries the digest it signed', () => {
    const r = signedRequest('approve', {
      workflowId: claim.workflowId,
      approver: 'alice',
      secretKey: testSecretKey('alice'),
      changeDigest: D1,
    });
    assert.equal(r.changeDigest, D1);
    assert.ok(
      verifyDecisionSignature(
        { ...claim, at: r.signature!.at, nonce: r.signature!.nonce, changeDigest: D1 },
        r.signature!.value,
        testPublicKey('alice'),
      ),
    );
  });

  test('checkApprovedChange: required when a change is shown, must be the one shown, ignored for image promotions', () => {
    const s = initialState(
      claim.workflowId,
      { service: 'svc', commit: 'a'.repeat(40), version: 'v', author: 'bot' },
      '',
    );
    checkApprovedChange(s, undefined); // image-tag promotion: nothing shown, nothing required
    assert.throws(() => checkApprovedChange(s, D1), /names a production change, but this promotion shows none/);
    s.productionChange = { text: '', digest: D1, notes: [] };
    assert.throws(() => checkApprovedChange(s, undefined), /changeDigest is required.*airlock diff/);
    assert.throws(
      () => checkApprovedChange(s, D2),
      new RegExp(`${D2} is not the production change awaiting approval \\(${D1}\\)`),
    );
    checkApprovedChange(s, D1);
  });
});
