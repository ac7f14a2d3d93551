// Deterministic ed25519 keys for the test approvers, so the test policy can list their public keys
// and tests approve the way people do: signed, within the window of workflow time.
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { publicKeyOf } from '../../src/approvals/decision-signature';
import { signedRequest } from '../../src/approvals/signed-request';
import type { ApprovalRequest } from '../../src/workflows/messages';

export function testSecretKey(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`airlock-test-key:${name}`).digest());
}

export function testPublicKey(name: string): string {
  return publicKeyOf(testSecretKey(name));
}

/** An approval signed by `approver`'s test key at the server's current (possibly skipped) time. */
export async function signedApproval(
  env: TestWorkflowEnvironment,
  h: WorkflowHandle,
  approver: string,
  comment?: string,
): Promise<ApprovalRequest> {
  const now = await env.currentTimeMs();
  return signedRequest('approve', {
    workflowId: h.workflowId,
    approver,
    text: comment,
    secretKey: testSecretKey(approver),
    now,
  });
}
