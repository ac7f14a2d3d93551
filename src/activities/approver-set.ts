// The approver set of the worker's policy file as it is now, read at each approval so a key
// removed or revoked after the gate stops counting at once (src/approvals/revocation.ts).
import type { LoadedPolicy } from '../policy/config/load';
import type { ApproverSet } from '../approvals/revocation';
import { loadPolicyOrFail } from './policy-load';

export function createApproverSetActivity(loadPolicy: () => LoadedPolicy) {
  return async function currentApproverSet(): Promise<ApproverSet> {
    // A policy that does not load cannot say who is revoked: the approval is refused, not guessed.
    const { policy, hash } = loadPolicyOrFail(loadPolicy);
    const bridge = policy.integrations?.slack?.bridgePublicKey;
    return {
      policyHash: hash,
      allowed: policy.approvers.allowed.map(({ id, slack, publicKey }) => ({
        id,
        ...(slack ? { slack } : {}),
        ...(publicKey ? { publicKey } : {}),
      })),
      ...(bridge ? { bridgePublicKey: bridge } : {}),
      revokedKeys: policy.approvers.revokedKeys ?? [],
    };
  };
}
