// Deterministic ed25519 keys for the test approvers, so the test policy can list their public keys
// and tests approve the way people do: signed, within the window of workflow time.
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { bindingOf } from '../../src/approvals/decision-binding';
import { publicKeyOf, type DecisionBinding } from '../../src/approvals/decision-signature';
import { signedRequest } from '../../src/approvals/signed-request';
import { stateQuery, type ApprovalRequest, type WaiveRequest } from '../../src/workflows/messages';

export function testSecretKey(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`airlock-test-key:${name}`).digest());
}

export function testPublicKey(name: string): string {
  return publicKeyOf(testSecretKey(name));
}

/** What a signer binds, as `airlock approve` reads it: the promotion's own commit and policy hash. */
export async function bindingOfPromotion(h: WorkflowHandle): Promise<DecisionBinding | undefined> {
  return bindingOf(await h.query(stateQuery));
}

/**
 * An approval signed by `approver`'s test key at the server's current (possibly skipped) time. Like
 * `airlock approve`, it binds the promotion's commit and policy hash, and approves the production
 * change the promotion shows now, unless `changeDigest` names another (or `null`: none at all).
 */
export async function signedApproval(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
  approver: string,
  comment?: string,
  changeDigest?: string | null,
): Promise<ApprovalRequest> {
  const now = await env.currentTimeMs();
  const shown = await h.query(stateQuery);
  const digest = changeDigest === undefined ? shown.productionChange?.digest : (changeDigest ?? undefined);
  const binding = bindingOf(shown);
  return signedRequest('approve', {
    ...(binding ? { binding } : {}),
    workflowId: h.workflowId,
    approver,
    text: comment,
    secretKey: testSecretKey(approver),
    now,
    ...(digest ? { changeDigest: digest } : {}),
  });
}

/**
 * A waiver signed by `by`'s test key (or `o.key`'s: a forgery) at the server's current time, bound
 * like `airlock waive` binds it: the promotion's commit and policy hash, unless `o.binding` or
 * `o.workflowId` says another promotion (a replay).
 */
export async function signedWaiver(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
  by: string,
  findings: string[],
  reason = 'capacity reviewed',
  o: { key?: string; binding?: Partial<DecisionBinding>; workflowId?: string; signedFindings?: string[] } = {},
): Promise<WaiveRequest> {
  const shown = bindingOf(await h.query(stateQuery));
  const req = signedRequest('waive', {
    workflowId: o.workflowId ?? h.workflowId,
    approver: by,
    text: reason,
    secretKey: testSecretKey(o.key ?? by),
    now: await env.currentTimeMs(),
    findings: o.signedFindings ?? findings,
    ...(shown ? { binding: { ...shown, ...o.binding } } : {}),
  });
  return { ...req, findings };
}
