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
});
