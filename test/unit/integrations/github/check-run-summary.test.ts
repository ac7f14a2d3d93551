// The GitHub check run of a promotion awaiting approval shows the production change it asks
// approval for (notes first), points to the whole of it, and says when approvals were voided.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { checkRunSummary } from '../../../../src/integrations/github/github-reporter';
import { initialState } from '../../../../src/workflows/promotion/initial-state';

const ID = `promotion-notification-service-${'a'.repeat(40)}`;

describe('the check run summary', () => {
  test('shows the production change, its notes, the digest and where the rest is; and voided approvals', () => {
    const s = {
      ...initialState(ID, { service: 'notification-service', commit: 'a'.repeat(40), version: 'v', author: 'bot' }, ''),
      stage: 'awaiting_approval' as const,
      productionChange: {
        text: '+      failureThreshold: 5',
        digest: `sha256:${'4'.repeat(64)}`,
        notes: [
          'not canaried, reaches production only after approval: Service production/notification-service (a Service)',
        ],
        omittedChars: 1234,
      },
      approvalsVoided: [
        { at: '2026-11-27T01:00:00.000Z', approvers: ['alice', 'bob'], reason: 'production changed after approval' },
      ],
    };
    const text = checkRunSummary(s);
    assert.match(text, /\*\*Production change awaiting approval\*\* \(`sha256:4{64}`\)/);
    assert.match(
      text,
      /- :warning: not canaried, reaches production only after approval: Service production\/notification-service/,
    );
    assert.match(text, /```diff\n\+ {6}failureThreshold: 5\n```/);
    assert.match(text, new RegExp(`1234 more characters: \`airlock diff ${ID}\``));
    assert.match(text, /Approvals of alice, bob voided 2026-11-27T01:00:00.000Z: production changed after approval/);
    // Once ended, the change is history: the summary no longer asks for it.
    assert.doesNotMatch(checkRunSummary({ ...s, stage: 'ended', outcome: 'promoted' }), /awaiting approval\*\*/);
  });
});
