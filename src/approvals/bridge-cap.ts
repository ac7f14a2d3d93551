// At most approvers.maxBridgeApprovals (default required − 1) approvals of one promotion may rest
// on the Slack bridge key alone: whoever holds the Slack signing secret can make the server sign
// for any Slack user, so the last approval of a quorum must always be signed by an approver's key.
// Pure and deterministic: it runs inside update validators and signal handlers.
import type { PromotionSettings } from '../policy/config/schema';
import type { Attribution } from './verify-decision';

/** The cap the policy sets, or its default: one fewer than the quorum. */
export function maxBridgeApprovals(settings: PromotionSettings): number {
  return settings.approvers.maxBridgeApprovals ?? settings.approvers.required - 1;
}

/** Why one more approval attributed `attribution` is refused, or undefined when it may count. */
export function bridgeCapRefusal(
  accepted: ReadonlyArray<{ attribution?: Attribution }>,
  attribution: Attribution,
  settings: PromotionSettings,
  action: 'approve' | 'waive' = 'approve',
): string | undefined {
  if (attribution !== 'slack-bridge') return undefined;
  const cap = maxBridgeApprovals(settings);
  const onBridge = accepted.filter((a) => a.attribution === 'slack-bridge').length;
  if (onBridge < cap) return undefined;
  return (
    `${action}: ${onBridge} of the ${action === 'waive' ? 'waivers of a finding' : 'approvals'} already rest on ` +
    `the Slack bridge key alone, the most approvers.maxBridgeApprovals allows (${cap}); this one must be ` +
    `signed with the approver's own key (airlock ${action} --key)`
  );
}
