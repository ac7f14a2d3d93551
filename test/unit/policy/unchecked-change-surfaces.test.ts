// A change let through by checks.allowUncheckedChanges carries its warning to every place a human
// reads a promotion: `airlock status`, the GitHub check run and the Slack approval request.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'vitest';
import { renderStatus } from '../../../src/client/render-status';
import { checkRunSummary } from '../../../src/integrations/github/github-reporter';
import { approvalBlocks } from '../../../src/integrations/slack/approval-blocks';
import { parsePolicy } from '../../../src/policy/config/load';
import { uncheckedChange } from '../../../src/worker/policy-wiring';
import { initialState } from '../../../src/workflows/promotion/initial-state';
import type { PromotionState } from '../../../src/workflows/messages';

const sample = parsePolicy(readFileSync(resolve(__dirname, '../../../policy/airlock.policy.yaml'), 'utf8')).policy;
const WHY = "no clone configured (AIRLOCK_REPO_DIR) — the change's content cannot be checked";

test('the sample policy blocks an unchecked change; the opt-out turns it into a warning', () => {
  assert.equal(sample.checks.allowUncheckedChanges, false);
  assert.deepEqual(
    uncheckedChange(sample, WHY).map((f) => f.level),
    ['block'],
  );
  const optOut = { ...sample, checks: { ...sample.checks, allowUncheckedChanges: true } };
  assert.deepEqual(
    uncheckedChange(optOut, WHY).map((f) => f.level),
    ['warn'],
  );
});

test('the opt-out warning is in the status, the check run and the Slack approval request', () => {
  const optOut = { ...sample, checks: { ...sample.checks, allowUncheckedChanges: true } };
  const s: PromotionState = {
    ...initialState(
      `promotion-notification-service-${'a'.repeat(40)}`,
      { service: 'notification-service', commit: 'a'.repeat(40), version: 'v', author: 'bot' },
      '2026-11-27T00:00:00.000Z',
    ),
    stage: 'awaiting_approval',
    findings: uncheckedChange(optOut, WHY),
  };
  const slack = JSON.stringify(approvalBlocks(s).blocks);
  for (const [where, text] of [
    ['airlock status', renderStatus(s)],
    ['check run', checkRunSummary(s)],
    ['Slack', slack],
  ])
    assert.match(text, /unchecked-change: UNCHECKED CHANGE: no clone configured \(AIRLOCK_REPO_DIR\)/, where);
});
