// The Slack approval request shows the production change it asks approval for, and its Approve
// button carries that change's digest, so a click approves what the message showed.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { approvalBlocks, APPROVE_ACTION } from '../../../../src/integrations/slack/approval-blocks';
import { initialState } from '../../../../src/workflows/promotion/initial-state';
import type { PromotionState } from '../../../../src/workflows/messages';

const ID = `promotion-notification-service-${'a'.repeat(40)}`;
const DIGEST = `sha256:${'3'.repeat(64)}`;

function asking(text: string): PromotionState {
  const s = initialState(
    ID,
    { service: 'notification-service', commit: 'a'.repeat(40), version: 'v', author: 'bot' },
    '',
  );
  return {
    ...s,
    stage: 'awaiting_approval',
    now: '2026-11-27T00:00:00.000Z',
    productionChange: {
      text,
      digest: DIGEST,
      notes: [
        'not canaried, reaches production only after approval: ConfigMap production/app-config (read by stable pods)',
      ],
    },
  };
}

const button = (m: { blocks: unknown[] }) =>
  (m.blocks as any[]).flatMap((b) => b.elements ?? []).find((e: any) => e.action_id === APPROVE_ACTION);
const sectionTexts = (m: { blocks: unknown[] }) => (m.blocks as any[]).map((b) => b.text?.text ?? '');

describe('the Slack approval request', () => {
  test('shows the notes and the diff, and the Approve button carries the digest', () => {
    const m = approvalBlocks(asking('-      failureThreshold: 3\n+      failureThreshold: 5'));
    assert.equal(button(m).value, `${ID} ${DIGEST}`);
    const texts = sectionTexts(m);
    const at = texts.findIndex((t) => t.startsWith('*Production change*'));
    assert.match(texts[at], /not canaried, reaches production only after approval: ConfigMap production\/app-config/);
    assert.match(texts[at], new RegExp(`airlock diff ${ID}`));
    assert.match(texts[at + 1], /^```[^]*\+ {6}failureThreshold: 5```$/, 'the diff follows the notes');
  });

  test("a long diff is cut to fit Slack's 3,000-character section, saying so", () => {
    const m = approvalBlocks(asking('+ line\n'.repeat(2000)));
    const diff = sectionTexts(m).find((t) => t.startsWith('```'))!;
    assert.ok(diff.length <= 3000, `section is ${diff.length} characters`);
    assert.match(diff, /…```$/);
  });

  test('many notes and warnings: every section within 3,000 characters, the rest counted with where to read it', () => {
    const s = asking('+ x');
    s.productionChange!.notes = Array.from(
      { length: 40 },
      (_, i) =>
        `not canaried, reaches production only after approval: ConfigMap production/config-${i} (${'r'.repeat(150)})`,
    );
    s.findings = Array.from({ length: 40 }, (_, i) => ({
      rule: 'vacuous-probe',
      level: 'warn' as const,
      message: `container ${i} ${'w'.repeat(200)}`,
    }));
    const texts = sectionTexts(approvalBlocks(s));
    for (const t of texts) assert.ok(t.length <= 3000, `a section of ${t.length} characters: Slack refuses it`);
    const notes = texts.find((t) => t.startsWith('*Production change*'))!;
    const shown = notes.match(/config-\d+/g)!.length;
    assert.ok(shown >= 10 && shown < 40, `${shown} notes shown`);
    assert.ok(notes.endsWith(`…and ${40 - shown} more: \`airlock diff ${ID}\``), notes.slice(-120));
    const warnings = texts.find((t) => t.startsWith('*Policy warnings*'))!;
    assert.match(warnings, new RegExp(`…and \\d+ more: \`airlock status ${ID}\`$`));
  });

  test('an image-tag promotion (no change shown): the button carries the workflow id only', () => {
    const { productionChange: _, ...s } = asking('');
    assert.equal(button(approvalBlocks(s)).value, ID);
  });

  test('500 hostile warnings: every text within its Slack limit, every untrusted string inert', () => {
    const s = asking('<!channel> & <https://evil.tld|diff>\n'.repeat(200));
    s.change = {
      ...s.change,
      title: `<!channel> deploy now <https://evil.tld|looks fine> & ${'<'.repeat(400)}`,
      author: '<@U0ALICE01>',
      version: '<!here>',
    };
    s.productionChange!.notes = Array.from({ length: 300 }, (_, i) => `<!subteam^S1> note ${i} ${'>'.repeat(700)}`);
    s.findings = Array.from({ length: 500 }, (_, i) => ({
      rule: i % 2 ? 'forbidden-path' : '<!everyone>',
      level: 'warn' as const,
      message: `path k8s/<https://evil.tld|x>/${i} ${'&'.repeat(i % 7 === 0 ? 2000 : 10)}`,
    }));
    s.approvals = [];
    const m = approvalBlocks(s);
    const all: Array<{ text: string; limit: number }> = [];
    for (const b of m.blocks as any[]) {
      if (b.type === 'header') all.push({ text: b.text.text, limit: 150 });
      if (b.text?.text) all.push({ text: b.text.text, limit: 3000 });
      for (const f of b.fields ?? []) all.push({ text: f.text, limit: 2000 });
      for (const e of b.elements ?? []) if (e.type === 'mrkdwn') all.push({ text: e.text, limit: 3000 });
    }
    assert.ok(all.length >= 8);
    for (const { text, limit } of all) {
      assert.ok(text.length <= limit, `a text of ${text.length} characters (limit ${limit}): Slack refuses the post`);
      // Not one raw angle bracket from the input survives: no mention, no link.
      assert.doesNotMatch(text, /<!|<@|<https?:/, text.slice(0, 200));
      // No entity cut in half by the clipping.
      assert.doesNotMatch(text, /&(a|am|amp|l|lt|g|gt)?(?![a-z;])(?=[^a-z;]|$)/, text.slice(-40));
    }
    const texts = sectionTexts(m);
    assert.match(texts[1], /^\*&lt;!channel&gt; deploy now &lt;https:\/\/evil\.tld\|looks fine&gt; &amp; /);
    assert.match(texts[1], /by &lt;@U0ALICE01&gt;/);
    const warnings = texts.find((t) => t.startsWith('*Policy warnings*'))!;
    assert.match(warnings, /• &lt;!everyone&gt;: path k8s\/&lt;https:\/\/evil\.tld\|x&gt;\/0 /);
    assert.match(warnings, new RegExp(`…and \\d+ more: \`airlock status ${ID}\`$`));
    assert.doesNotMatch(m.text, /</);
  });
});
