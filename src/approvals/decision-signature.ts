// The signed form of a human decision (approve / reject / abort / resolve / waive) and its canonical
// bytes. Pure and deterministic: the CLI and the Slack bridge sign with it, the workflow verifies with it.
import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeBase64, encodeBase64 } from './base64';

export type DecisionAction = 'approve' | 'reject' | 'abort' | 'resolve' | 'waive';

/** Attached to an approval / reject / abort request by whoever signed it. */
export interface DecisionSignature {
  /** ISO-8601 time of signing; must lie within the policy's window of workflow time. */
  at: string;
  /** Random, so two decisions signed in the same millisecond still differ. */
  nonce: string;
  /** base64 ed25519 signature over canonicalDecision(...). */
  value: string;
}

/** Everything a signature covers: the request cannot be moved to another promotion, action or person. */
export interface DecisionClaim {
  workflowId: string;
  action: DecisionAction;
  approver: string;
  /** 'cli' (signed by the approver's key) or 'slack' (signed by the server's bridge key). */
  via: string;
  /** Slack user the bridge verified; part of the signed bytes so it cannot be swapped. */
  slackUser?: string;
  /** The comment (approve) or reason (reject / abort): signed so it cannot be rewritten. */
  text?: string;
  /**
   * Approvals of a change deployer's promotion: the digest of the production diff and plans the
   * approver saw (state.productionChange.digest), so an approval cannot be moved to other content.
   */
  changeDigest?: string;
  /**
   * The promotion the decision is about: its merge commit and the hash of the policy its gate
   * applied. With it the claim is signed under v3, so it cannot be moved to another run of the
   * same workflow id (a later merge, a changed policy). Absent only for signers before v3 and for
   * stops sent while the gate was still running.
   */
  binding?: DecisionBinding;
  /** waive: the ids of the findings waived (signed sorted, so their order does not matter). */
  findings?: readonly string[];
  at: string;
  nonce: string;
}

/** What a v3 signature binds besides the workflow id: state.change.commit and state.policyHash. */
export interface DecisionBinding {
  commit: string;
  policyHash: string;
}

const DOMAIN = 'airlock-decision-v1';
// A claim that covers a production change is signed under its own domain: no v1 signature can be
// read as covering one, and v1 bytes stay exactly what signers before it produced.
const DOMAIN_WITH_CHANGE = 'airlock-decision-v2';
// A claim bound to a commit and a policy hash: its own domain, so no v1 / v2 signature (which binds
// neither) verifies as one, and a fixed field list (null where there is no production change).
const DOMAIN_BOUND = 'airlock-decision-v3';
// A waiver lifts a block: its own domain, always bound to the commit and policy, and covering the
// exact findings, so no decision signature verifies as a waiver and no waiver moves to other findings.
const DOMAIN_WAIVER = 'airlock-waiver-v1';

export function canonicalDecision(c: DecisionClaim): Uint8Array {
  // A JSON array is unambiguous: no field can smuggle a separator into the next one.
  const common = [c.workflowId, c.action, c.approver, c.via, c.slackUser ?? '', c.text ?? '', c.at, c.nonce];
  if (c.action === 'waive') return new TextEncoder().encode(JSON.stringify(waiverFields(c, common.slice(2))));
  const fields = c.binding
    ? [DOMAIN_BOUND, c.workflowId, c.binding.commit, c.binding.policyHash, c.changeDigest ?? null, ...common.slice(1)]
    : c.changeDigest === undefined
      ? [DOMAIN, ...common]
      : [DOMAIN_WITH_CHANGE, ...common, c.changeDigest];
  return new TextEncoder().encode(JSON.stringify(fields));
}

/** A waiver's fields: a claim without a binding gets nulls, which no signer produces and nothing accepts. */
function waiverFields(c: DecisionClaim, rest: string[]): unknown[] {
  const findings = [...(c.findings ?? [])].sort();
  return [DOMAIN_WAIVER, c.workflowId, c.binding?.commit ?? null, c.binding?.policyHash ?? null, findings, ...rest];
}

export function signDecision(claim: DecisionClaim, secretKey: Uint8Array): DecisionSignature {
  return { at: claim.at, nonce: claim.nonce, value: encodeBase64(ed25519.sign(canonicalDecision(claim), secretKey)) };
}

export function verifyDecisionSignature(claim: DecisionClaim, signatureB64: string, publicKeyB64: string): boolean {
  const sig = decodeBase64(signatureB64);
  const key = decodeBase64(publicKeyB64);
  if (!sig || sig.length !== 64 || !key || key.length !== 32) return false;
  try {
    return ed25519.verify(sig, canonicalDecision(claim), key);
  } catch {
    return false; // a malformed point is a forgery, not a crash of the workflow task
  }
}

/** True when the text is base64 of exactly 32 bytes (a raw ed25519 public key). */
export function isPublicKey(text: string): boolean {
  return decodeBase64(text)?.length === 32;
}

export function publicKeyOf(secretKey: Uint8Array): string {
  return encodeBase64(ed25519.getPublicKey(secretKey));
}
