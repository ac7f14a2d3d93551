// The Block Kit approval request: the evidence a human needs before clicking, and the buttons.
// Pure: used by the Slack notifier (first post, updates) and the server (after a click).
import { formatDuration } from '../../common/durations';
import { formatRate } from '../../common/format';
import type { PromotionState } from '../../workflows/messages';
import { errorRateEvidenceLines } from '../../common/error-rate-evidence';

export const APPROVE_ACTION = 'airlock_approve';
export const REJECT_ACTION = 'airlock_reject';

const pct = formatRate;
/** Slack's limit on a section's text. */
const SECTION_CHARS = 3000;

export function approvalBlocks(s: PromotionState, outcomeLine?: string): { text: string; blocks: unknown[] } {
  const c = s.change;
  const required = s.settings?.approvers.required ?? 2;
  const bake =
    s.stagingReadyAt && s.bakeEndsAt
      ? `${formatDuration(Date.parse(s.bakeEndsAt) - Date.parse(s.stagingReadyAt))} in staging, ${Date.parse(s.now) >= Date.parse(s.bakeEndsAt) ? 'completed' : 'NOT completed'} ${s.bakeEndsAt}${s.shortBake ? ' (SHORT BAKE allowed by policy)' : ''}`
      : 'not started';
  const last = s.errorRate.last;
  const canary =
    last && last.environment === 'production'
      ? `${pct(last.rate)} vs baseline ${pct(last.baseline)} (${last.requestCount} requests, ${s.errorRate.samples} samples)`
      : 'no production sample yet';
  const warnings = s.findings.filter((f) => f.level === 'warn');
  const approvals = s.approvals.length ? s.approvals.map((a) => `${a.approver} (${a.via})`).join(', ') : 'none yet';
  const text = `${c.service} ${c.commit.slice(0, 12)} awaits approval ${s.approvals.length}/${required}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `Airlock: ${c.service} → production?` } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${c.title ?? c.commit}*\n\`${c.commit.slice(0, 12)}\` version \`${c.version}\` by ${c.author}`,
      },
      fields: [
        { type: 'mrkdwn', text: `*Bake*\n${bake}` },
        { type: 'mrkdwn', text: `*Canary error rate*\n${canary}` },
        { type: 'mrkdwn', text: `*Approvals ${s.approvals.length}/${required}*\n${approvals}` },
        { type: 'mrkdwn', text: `*Deadline*\n${s.approvalDeadline ?? '-'}` },
      ],
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Policy warnings*\n${warnings.length ? warnings.map((w) => `• ${w.rule}: ${w.message}`).join('\n') : 'none'}`,
      },
    },
  ];
  const evidence = errorRateEvidenceLines(s.errorRate);
  if (evidence.length)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Error-rate tests*\n${evidence.map((l) => `• ${l}`).join('\n')}`.slice(0, SECTION_CHARS),
      },
    });
  const pc = s.productionChange;
  if (pc) {
    // A section holds at most 3,000 characters: the notes first, then as much diff as fits.
    const notes = pc.notes.map((n) => `:warning: ${n}`).join('\n');
    const head = `*Production change* \`${pc.digest.slice(0, 19)}…\` (full: \`airlock diff ${s.workflowId}\`)\n${notes}`;
    const room = SECTION_CHARS - head.length - 10;
    const diff = pc.text.length > room ? `${pc.text.slice(0, Math.max(0, room - 2))}\n…` : pc.text;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${head}\n\`\`\`${diff}\`\`\`` } });
  }
  if (outcomeLine) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: outcomeLine }] });
  if (s.stage === 'awaiting_approval') {
    blocks.push({
      type: 'actions',
      block_id: 'airlock_decision',
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          // The click approves the change this message shows, not whatever production gets later.
          value: s.productionChange ? `${s.workflowId} ${s.productionChange.digest}` : s.workflowId,
        },
        {
          type: 'button',
          action_id: REJECT_ACTION,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: s.workflowId,
          confirm: {
            title: { type: 'plain_text', text: 'Reject and roll back?' },
            text: { type: 'mrkdwn', text: 'Rolls back the canary and staging now.' },
            confirm: { type: 'plain_text', text: 'Reject' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
      ],
    });
  } else {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Stage: *${s.stage}*${s.outcome ? ` → *${s.outcome}*` : ''}` }],
    });
  }
  return { text, blocks };
}
