// The waiver's signature domain (issue 16 item 4): airlock-waiver-v1 binds the workflow id, the
// commit, the policy hash, the sorted finding ids and the reason, so a waiver for another promotion,
// commit, policy or set of findings does not verify, and no decision signature reads as a waiver.
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
import { signedRequest } from '../../../src/approvals/signed-request';
import { checkDecisionIdentity, type IdentityContext } from '../../../src/approvals/verify-decision';
import { parsePolicy } from '../../../src/policy/config/load';
import { promotionSettings } from '../../../src/policy/config/schema';
import { testPolicyYaml } from '../../helpers/harness';
import { testPublicKey, testSecretKey } from '../../helpers/approver-keys';

const COMMIT = 'a'.repeat(40);
const POLICY = 'f'.repeat(64);
const WID = `promotion-svc-${COMMIT}`;
const waiver: DecisionClaim = {
  workflowId: WID,
  action: 'waive',
  approver: 'alice',
  via: 'cli',
  text: 'capacity reviewed',
  findings: ['replicas-0123456789', 'memory-increase-abcdef0123'],
  at: '2026-11-27T00:00:00.000Z',
  nonce: 'nonce-0123456789',
  binding: { commit: COMMIT, policyHash: POLICY },
};
const text = (c: DecisionClaim) => new TextDecoder().decode(canonicalDecision(c));
const ALICE = testPublicKey('alice');
const sig = signDecision(waiver, testSecretKey('alice')).value;

describe('the airlock-waiver-v1 canonical form', () => {
  test('field order: domain, workflow id, commit, policy hash, sorted finding ids, then who, how, reason, time, nonce', () => {
    assert.equal(
      text(waiver),
      JSON.stringify([
        'airlock-waiver-v1',
        WID,
        COMMIT,
        POLICY,
        ['memory-increase-abcdef0123', 'replicas-0123456789'],
        'alice',
        'cli',
        '',
        'capacity reviewed',
        waiver.at,
        waiver.nonce,
      ]),
    );
  });

  test('the order findings are named in does not matter; the set, the reason and the binding do', () => {
    assert.ok(verifyDecisionSignature({ ...waiver, findings: [...waiver.findings!].reverse() }, sig, ALICE));
    const altered: DecisionClaim[] = [
      { ...waiver, findings: [waiver.findings![0]] },
      { ...waiver, findings: [...waiver.findings!, 'liveness-probe-0000000000'] },
      { ...waiver, text: 'capacity reviewed!' },
      { ...waiver, workflowId: `promotion-other-${COMMIT}` },
      { ...waiver, binding: { commit: 'b'.repeat(40), policyHash: POLICY } },
      { ...waiver, binding: { commit: COMMIT, policyHash: 'e'.repeat(64) } },
      { ...waiver, binding: undefined },
      { ...waiver, approver: 'bob' },
      // The same fields read as an approval: a waiver is never an approval, nor the reverse.
      { ...waiver, action: 'approve' },
    ];
    for (const c of altered) assert.ok(!verifyDecisionSignature(c, sig, ALICE), JSON.stringify(c));
    assert.ok(!verifyDecisionSignature(waiver, sig, testPublicKey('bob')), 'another key');
    const approval = signDecision({ ...waiver, action: 'approve', findings: undefined }, testSecretKey('alice')).value;
    assert.ok(!verifyDecisionSignature(waiver, approval, ALICE));
  });

  test('domain separation: waiver bytes never equal a decision claim’s, and equal bytes mean the same waiver', () => {
    const str = fc.string({ maxLength: 10 });
    const fields = {
      workflowId: str,
      approver: str,
      via: str,
      slackUser: str,
      text: str,
      at: str,
      nonce: str,
      binding: fc.record({ commit: str, policyHash: str }),
    };
    const required = ['workflowId', 'action', 'approver', 'via', 'at', 'nonce'] as const;
    const arbWaiver = fc.record(
      { ...fields, action: fc.constant<DecisionAction>('waive'), findings: fc.array(str, { maxLength: 3 }) },
      { requiredKeys: [...required] },
    );
    const arbDecision = fc.record(
      {
        ...fields,
        action: fc.constantFrom<DecisionAction>('approve', 'reject', 'abort', 'resolve'),
        changeDigest: str,
      },
      { requiredKeys: [...required] },
    );
    fc.assert(
      fc.property(arbWaiver, arbWaiver, arbDecision, (a, b, d) => {
        assert.ok(text(a).startsWith('["airlock-waiver-v1"'));
        assert.notEqual(text(a), text(d));
        if (text(a) === text(b)) {
          const sorted = (c: DecisionClaim) => ({ ...c, findings: [...(c.findings ?? [])].sort() });
          assert.deepEqual(JSON.parse(text(sorted(a))), JSON.parse(text(sorted(b))));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('checkDecisionIdentity for a waiver', () => {
  const settings = promotionSettings(parsePolicy(testPolicyYaml()).policy);
  const now = Date.parse(waiver.at);
  const ctx = (o: Partial<IdentityContext> = {}): IdentityContext => ({
    workflowId: WID,
    action: 'waive',
    settings,
    now,
    usedSignatures: new Set(),
    binding: { commit: COMMIT, policyHash: POLICY },
    requireBinding: true,
    ...o,
  });
  const signed = (binding?: { commit: string; policyHash: string }) =>
    signedRequest('waive', {
      workflowId: WID,
      approver: 'alice',
      text: 'capacity reviewed',
      findings: waiver.findings,
      secretKey: testSecretKey('alice'),
      now,
      ...(binding ? { binding } : {}),
    });
  const asChecked = (r: ReturnType<typeof signed>) => ({ ...r, approver: r.by, text: r.reason });

  test('signed over this promotion: accepted, attributed to the approver key', () => {
    const req = signed(waiver.binding);
    assert.deepEqual(req.findings, waiver.findings);
    assert.deepEqual(checkDecisionIdentity(asChecked(req), ctx()), { ok: true, attribution: 'approver-key' });
  });

  test('unbound, unsigned, or a used signature: refused, even where an approval would pass', () => {
    const loose = ctx({ requireBinding: false });
    const unbound = checkDecisionIdentity(asChecked(signed()), loose);
    assert.match(unbound.ok ? '' : unbound.reason, /^waive: signature does not verify/);
    const noBinding = checkDecisionIdentity(asChecked(signed()), ctx({ binding: undefined }));
    assert.equal(noBinding.ok, false);
    const permissive = { ...settings, approvers: { ...settings.approvers, requireSignature: false } };
    const unsigned = checkDecisionIdentity(
      { approver: 'carol', findings: waiver.findings, text: 'ok' },
      ctx({ settings: permissive }),
    );
    assert.match(unsigned.ok ? '' : unsigned.reason, /^waive: unsigned; a waiver must be signed/);
    const req = signed(waiver.binding);
    const replay = checkDecisionIdentity(asChecked(req), ctx({ usedSignatures: new Set([req.signature!.value]) }));
    assert.match(replay.ok ? '' : replay.reason, /already used once \(replay\)/);
    const otherFindings = checkDecisionIdentity({ ...asChecked(req), findings: [waiver.findings![0]] }, ctx());
    assert.match(otherFindings.ok ? '' : otherFindings.reason, /findings and reason: forged or altered/);
  });
});
