// A Slack click or /airlock command becomes a signed decision: the Slack user (verified by the
// signing secret) is mapped to its approver, and the bridge key signs on that user's behalf.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { bindingOf } from '../approvals/decision-binding';
import { signedRequest } from '../approvals/signed-request';
import type { Policy } from '../policy/config/schema';
import { approveUpdate, rejectUpdate, stateQuery, waiveUpdate } from '../workflows/messages';
import { approvalBlocks } from '../integrations/slack/approval-blocks';
import { escapeMrkdwn } from '../integrations/slack/mrkdwn';

export interface SlackDecision {
  action: 'approve' | 'reject' | 'waive';
  workflowId: string;
  slackUser: string;
  reason?: string;
  /** The production change the clicked message showed; a slash command approves the one shown now. */
  changeDigest?: string;
  /** waive: the finding ids the clicked message showed. */
  findings?: string[];
}

/** Runs the decision and returns the Slack message that replaces the approval request. */
export async function runSlackDecision(
  temporal: Client,
  policy: Policy,
  bridgeSecretKey: Uint8Array,
  d: SlackDecision,
  now: number,
): Promise<Record<string, unknown>> {
  const approver = policy.approvers.allowed.find((a) => a.slack === d.slackUser)?.id;
  if (!approver) {
    return {
      response_type: 'ephemeral',
      replace_original: false,
      text: `Refused: Slack user <@${escapeMrkdwn(d.slackUser)}> is not mapped to an approver (approvers.allowed[].slack in the policy).`,
    };
  }
  const handle = temporal.workflow.getHandle(d.workflowId);
  const common = {
    workflowId: d.workflowId,
    approver,
    secretKey: bridgeSecretKey,
    via: 'slack' as const,
    slackUser: d.slackUser,
    now,
  };
  let line: string;
  try {
    // The bridge signs for the promotion's own commit and policy hash, read from its state.
    const shown = await handle.query(stateQuery);
    const binding = bindingOf(shown);
    const bound = { ...common, ...(binding ? { binding } : {}) };
    if (d.action === 'approve') {
      const changeDigest = d.changeDigest ?? shown.productionChange?.digest;
      const r = await handle.executeUpdate(approveUpdate, {
        args: [signedRequest('approve', { ...bound, ...(changeDigest ? { changeDigest } : {}) })],
      });
      line = `:white_check_mark: Approved by ${approver} (${r.approvals.length}/${r.required})${r.complete ? ' — production rollout follows' : ''}`;
    } else if (d.action === 'waive') {
      const text = d.reason ?? `waived in Slack by ${approver} after reviewing the findings shown`;
      const r = await handle.executeUpdate(waiveUpdate, {
        args: [signedRequest('waive', { ...bound, findings: d.findings ?? [], text })],
      });
      line = `:white_check_mark: Waived by ${approver}${r.complete ? ' — every blocking finding is waived: on to staging' : `; still waiting: ${escapeMrkdwn(r.waiting.join(', '))}`}`;
    } else {
      await handle.executeUpdate(rejectUpdate, {
        args: [signedRequest('reject', { ...bound, text: d.reason ?? `rejected in Slack by ${approver}` })],
      });
      line = `:x: Rejected by ${approver}: rolling back`;
    }
  } catch (err) {
    const reason =
      err instanceof WorkflowUpdateFailedError
        ? String((err.cause as Error)?.message ?? err.message)
        : String((err as Error).message);
    // A refusal leaves the request as it was, buttons included, with the reason under it.
    line = `:no_entry: ${approver}'s ${d.action} refused: ${escapeMrkdwn(reason)}`;
  }
  try {
    const state = await handle.query(stateQuery);
    return { replace_original: true, ...approvalBlocks(state, line) };
  } catch {
    return { replace_original: false, response_type: 'ephemeral', text: line };
  }
}
