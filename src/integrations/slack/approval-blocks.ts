// The Block Kit approval request: the evidence a human needs before clicking, and the buttons.
// Pure: used by the Slack notifier (first post, updates) and the server (after a click).
import { formatDuration } from '../../common/durations';
import { formatRate } from '../../common/format';
import type { PromotionState } from '../../workflows/messages';
import { errorRateEvidenceLines } from '../../common/error-rate-evidence';
import { stagedImageLines } from '../../common/staged-image-lines';
import { escapeMrkdwn } from './mrkdwn';
import { waiverBlocks } from './waiver-blocks';

export const APPROVE_ACTION = 'airlock_approve';
export const REJECT_ACTION = 'airlock_reject';

const pct = formatRate;
/** Slack's limit on a section's text: a longer one makes Slack refuse the whole message. */
export const SECTION_CHARS = 3000;
/** Slack's limit on one of a section's fields. */
const FIELD_CHARS = 2000;
const esc = escapeMrkdwn;

/** At most `max` characters, never ending inside an `&amp;`-style entity, `…` marking a cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).replace(/&[a-z]{0,4}$/, '')}…`;
}

/** `title` and as many `lines` as fit in one section; the rest counted, with where to read them. */
function boundedLines(title: string, lines: string[], whereAll: string): string {
  let text = title;
  for (let i = 0; i < lines.length; i++) {
    const more = `\n…and ${lines.length - i} more: ${whereAll}`;
    const line = `\n${lines[i]}`;
    // Room for this line and, should another follow, the count of the rest.
    const reserve = i + 1 < lines.length ? more.length + 20 : 0;
    if (text.length + line.length + reserve > SECTION_CHARS) return clip(`${text}${more}`, SECTION_CHARS);
    text += line;
  }
  return text;
}

export function approvalBlocks(s: PromotionState, outcomeLine?: string): { text: string; blocks: unknown[] } {
  // Blocked on waivable findings: the same message asks for waivers first (waiver-blocks.ts).
  if (s.stage === 'awaiting_waiver') return waiverBlocks(s, outcomeLine);
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
  const approvals = s.approvals.length
    ? esc(s.approvals.map((a) => `${a.approver} (${a.via})`).join(', '))
    : 'none yet';
  const text = esc(`${c.service} ${c.commit.slice(0, 12)} awaits approval ${s.approvals.length}/${required}`);
  // Every string below that a change, a person or a tool wrote is escaped, and every text clipped
  // to Slack's limits, so neither a `<!channel>` in a title nor 500 warnings can break the post.
  const field = (t: string) => ({ type: 'mrkdwn', text: clip(t, FIELD_CHARS) });
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Airlock: ${c.service} → production?`, 150) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `*${esc(c.title ?? c.commit)}*\n\`${esc(c.commit.slice(0, 12))}\` version \`${esc(c.version)}\` by ${esc(c.author)}`,
          SECTION_CHARS,
        ),
      },
      fields: [
        field(`*Bake*\n${bake}`),
        field(`*Canary error rate*\n${canary}`),
        field(`*Approvals ${s.approvals.length}/${required}*\n${approvals}`),
        field(`*Deadline*\n${esc(s.approvalDeadline ?? '-')}`),
      ],
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: warnings.length
          ? boundedLines(
              '*Policy warnings*',
              warnings.map((w) => clip(esc(`• ${w.rule}: ${w.message}`), SECTION_CHARS / 2)),
              `\`airlock status ${s.workflowId}\``,
            )
          : '*Policy warnings*\nnone',
      },
    },
  ];
  const evidence = errorRateEvidenceLines(s.errorRate);
  if (evidence.length)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`*Error-rate tests*\n${evidence.map((l) => `• ${esc(l)}`).join('\n')}`, SECTION_CHARS),
      },
    });
  const images = stagedImageLines(s.stagedImages);
  if (images.pinned.length || images.mutable.length) {
    const lines = [
      ...images.mutable.map((l) => clip(`:warning: ${esc(l)}`, SECTION_CHARS / 2)),
      ...images.pinned.map((l) => clip(`• ${esc(l)}`, SECTION_CHARS / 2)),
    ];
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: boundedLines('*What production receives*', lines, `\`airlock status ${s.workflowId}\``),
      },
    });
  }
  const pc = s.productionChange;
  if (pc) {
    // A section holds at most 3,000 characters: the notes in one (as many as fit, the rest
    // counted), then as much of the diff as fits in another; `airlock diff` prints all of it.
    const full = `\`airlock diff ${s.workflowId}\``;
    const head = `*Production change* \`${pc.digest.slice(0, 19)}…\` (full: ${full})`;
    const notes = pc.notes.map((n) => clip(`:warning: ${esc(n)}`, SECTION_CHARS / 2));
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: boundedLines(head, notes, full) } });
    const room = SECTION_CHARS - 10;
    const escaped = esc(pc.text);
    const diff = escaped.length > room ? `${clip(escaped, room - 2).slice(0, -1)}\n…` : escaped;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${diff}\`\`\`` } });
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
