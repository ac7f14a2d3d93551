// Revocation: an approval is accepted only if the key that made it is allowed both by the policy the
// gate recorded and by the policy as it is now. Removals take effect at once; additions never widen
// a running promotion (the gate's set is checked first, elsewhere). Pure and deterministic: the
// current set is read by an activity and handed in.
import type { PromotionSettings } from '../policy/config/schema';
import type { Attribution } from './verify-decision';

/** The approver set of the policy file as the worker reads it now (activity currentApproverSet). */
export interface ApproverSet {
  /** sha256 of the policy file read; recorded with the approval it was checked for. */
  policyHash: string;
  allowed: Array<{ id: string; slack?: string; publicKey?: string }>;
  bridgePublicKey?: string;
  revokedKeys: string[];
}

const short = (key: string) => `${key.slice(0, 8)}…`;

/**
 * Why `approver`, identified by `attribution` under the gate's settings, may no longer approve
 * under the current set; undefined when they still may.
 */
export function whyNoLongerAllowed(
  gate: PromotionSettings,
  current: ApproverSet,
  approver: string,
  attribution: Attribution,
): string | undefined {
  const since = `since the gate (current policy ${current.policyHash.slice(0, 12)})`;
  const now = current.allowed.find((a) => a.id === approver);
  if (!now) return `"${approver}" was removed from approvers.allowed ${since}; removals take effect at once`;
  const then = gate.approvers.allowed.find((a) => a.id === approver);
  const revoked = new Set(current.revokedKeys);
  if (attribution === 'approver-key') {
    const key = then?.publicKey ?? '';
    if (revoked.has(key)) return `the key ${short(key)} of "${approver}" is in approvers.revokedKeys ${since}`;
    if (now.publicKey !== key)
      return (
        `the key ${short(key)} of "${approver}" that the gate recorded is no longer theirs ${since}; ` +
        'a key is accepted only if the gate and the current policy both allow it'
      );
  }
  if (attribution === 'slack-bridge') {
    const bridge = gate.integrations?.slack?.bridgePublicKey ?? '';
    if (revoked.has(bridge)) return `the Slack bridge key ${short(bridge)} is in approvers.revokedKeys ${since}`;
    if (current.bridgePublicKey !== bridge)
      return `the Slack bridge key ${short(bridge)} that the gate recorded is no longer the policy's ${since}`;
    if (now.slack !== then?.slack)
      return `the Slack user of "${approver}" changed ${since} (${then?.slack ?? 'none'} → ${now.slack ?? 'none'})`;
  }
  return undefined;
}
