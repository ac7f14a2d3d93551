// Deterministic ed25519 keys for the test approvers, so the test policy can list their public keys
// and tests approve the way people do: signed, within the window of workflow time.
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { bindingOf } from '../../src/approvals/decision-binding';
import { publicKeyOf, type DecisionBinding } from '../../src/approvals/decision-signature';
import { signedRequest } from '../../src/approvals/signed-request';
import { stateQuery, type ApprovalRequest } from '../../src/workflows/messages';

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
