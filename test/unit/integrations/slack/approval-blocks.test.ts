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
    const change = sectionTexts(m).find((t) => t.startsWith('*Production change*'))!;
    assert.match(change, /not canaried, reaches production only after approval: ConfigMap production\/app-config/);
    assert.match(change, /\+ {6}failureThreshold: 5/);
    assert.match(change, new RegExp(`airlock diff ${ID}`));
  });

  test("a long diff is cut to fit Slack's 3,000-character section, saying so", () => {
    const m = approvalBlocks(asking('+ line\n'.repeat(2000)));
    const change = sectionTexts(m).find((t) => t.startsWith('*Production change*'))!;
    assert.ok(change.length <= 3000, `section is ${change.length} characters`);
    assert.match(change, /…```$/);
  });

  test('an image-tag promotion (no change shown): the button carries the workflow id only', () => {
    const { productionChange: _, ...s } = asking('');
    assert.equal(button(approvalBlocks(s)).value, ID);
  });
});
