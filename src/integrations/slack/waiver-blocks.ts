// The Block Kit message of a promotion blocked only by waivable findings: which findings wait for a
// waiver and how many each has, and a Waive button. The click waives exactly the findings this
// message showed, bridge-signed for the clicking Slack user (src/server/slack-decision.ts).
import type { PromotionState } from '../../workflows/messages';
import { waiverProgress } from '../../common/waiver-quorum';
import { escapeMrkdwn as esc } from './mrkdwn';

export const WAIVE_ACTION = 'airlock_waive';
/** Slack's limit on a button's value: with more findings than fit, the button gives way to the CLI. */
const BUTTON_VALUE_CHARS = 2000;
const SECTION_CHARS = 3000;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export function waiverBlocks(s: PromotionState, outcomeLine?: string): { text: string; blocks: unknown[] } {
  const c = s.change;
  const required = s.settings?.approvers.required ?? 2;
  const { by, waiting } = waiverProgress(s.findings, s.waivers ?? [], required);
  const text = esc(`${c.service} ${c.commit.slice(0, 12)} is blocked: ${waiting.length} finding(s) await a waiver`);
  const findingLines = s.findings
    .filter((f) => f.level === 'block' && f.id)
    .map(
      (f) => `• \`${esc(f.id!)}\` ${esc(f.rule)}: ${esc(f.message)} — waived ${by.get(f.id!)?.length ?? 0}/${required}`,
    );
  const command = `airlock waive ${s.workflowId} --as ID --key FILE ${waiting.map((id) => `--finding ${id}`).join(' ')} --reason '…'`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Airlock: ${c.service} blocked — waive?`, 150) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `*${esc(c.title ?? c.commit)}*\n\`${esc(c.commit.slice(0, 12))}\` version \`${esc(c.version)}\` by ${esc(c.author)}\n` +
            `Every blocking finding needs ${required} distinct approvers (never an author) by ${esc(s.waiverDeadline ?? '-')}; ` +
            'then the change bakes, canaries and asks approval like any other.',
          SECTION_CHARS,
        ),
      },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`*Blocking findings*\n${findingLines.join('\n')}`, SECTION_CHARS) },
    },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: clip(`With a reason: \`${esc(command)}\``, SECTION_CHARS) }],
    },
  ];
  if (outcomeLine) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: outcomeLine }] });
  const value = `${s.workflowId} ${waiting.join(',')}`;
  if (waiting.length && value.length <= BUTTON_VALUE_CHARS)
    blocks.push({
      type: 'actions',
      block_id: 'airlock_waiver',
      elements: [
        {
          type: 'button',
          action_id: WAIVE_ACTION,
          style: 'danger',
          text: { type: 'plain_text', text: 'Waive' },
          // The click waives the findings this message shows, not whatever the promotion has later.
          value,
          confirm: {
            title: { type: 'plain_text', text: 'Waive these findings?' },
            text: {
              type: 'mrkdwn',
              text: clip(`You sign a waiver of ${waiting.map(esc).join(', ')} for this change.`, 300),
            },
            confirm: { type: 'plain_text', text: 'Waive' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
      ],
    });
  return { text, blocks };
}
