// Deterministic ed25519 keys for the test approvers, so the test policy can list their public keys
// and tests approve the way people do: signed, within the window of workflow time.
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { publicKeyOf } from '../../src/approvals/decision-signature';
import { signedRequest } from '../../src/approvals/signed-request';
import { stateQuery, type ApprovalRequest } from '../../src/workflows/messages';

export function testSecretKey(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`airlock-test-key:${name}`).digest());
}

export function testPublicKey(name: string): string {
  return publicKeyOf(testSecretKey(name));
}

/**
 * An approval signed by `approver`'s test key at the server's current (possibly skipped) time. Like
 * `airlock approve`, it approves the production change the promotion shows now, unless
 * `changeDigest` names another (or `null`: none at all).
 */
export async function signedApproval(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
  approver: string,
  comment?: string,
  changeDigest?: string | null,
): Promise<ApprovalRequest> {
  const now = await env.currentTimeMs();
  const digest =
    changeDigest === undefined ? (await h.query(stateQuery)).productionChange?.digest : (changeDigest ?? undefined);
  return signedRequest('approve', {
    workflowId: h.workflowId,
    approver,
    text: comment,
    secretKey: testSecretKey(approver),
    now,
    ...(digest ? { changeDigest: digest } : {}),
  });
}
