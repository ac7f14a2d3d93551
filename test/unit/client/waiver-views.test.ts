// Every view of a promotion awaiting waivers says which findings wait, how many waivers each has,
// and the command that signs one; after the end, who waived what (status, Web UI, check run, Slack).
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { renderStatus, describeInterruption } from '../../../src/client/render-status';
import { promotionDetails } from '../../../src/workflows/ui-details';
import { checkRunSummary, checkRunTitle } from '../../../src/integrations/github/github-reporter';
import { approvalBlocks } from '../../../src/integrations/slack/approval-blocks';
import { initialState } from '../../../src/workflows/promotion/initial-state';
import { parsePolicy } from '../../../src/policy/config/load';
import { promotionSettings } from '../../../src/policy/config/schema';
import { testPolicyYaml } from '../../helpers/harness';
import type { PromotionState } from '../../../src/workflows/messages';

const WID = `promotion-svc-${'a'.repeat(40)}`;
const R = 'replicas-1111111111';
const M = 'memory-increase-2222222222';

function awaiting(): PromotionState {
  const s = initialState(WID, { service: 'svc', commit: 'a'.repeat(40), version: 'v2', author: 'bot' }, '');
  return {
    ...s,
    stage: 'awaiting_waiver',
    now: '2026-11-28T01:00:00.000Z',
    settings: promotionSettings(parsePolicy(testPolicyYaml()).policy),
    policyHash: 'f'.repeat(64),
    waiverRequestedAt: '2026-11-28T00:00:00.000Z',
    waiverDeadline: '2026-12-01T00:00:00.000Z',
    findings: [
      { rule: 'replicas', level: 'block', message: 'replicas 3 → 30', id: R, waivable: true },
      { rule: 'memory-increase', level: 'block', message: '256Mi → 1Gi', id: M, waivable: true },
    ],
    waivers: [
      {
        by: 'alice',
        at: '2026-11-28T00:30:00.000Z',
        findings: [R, M],
        reason: 'capacity reviewed',
        via: 'cli',
        attribution: 'approver-key',
        keyId: 'abcdefabcdef',
      },
      {
        by: 'bob',
        at: '2026-11-28T00:40:00.000Z',
        findings: [R],
        reason: 'load test passed',
        via: 'slack',
        attribution: 'slack-bridge',
      },
    ],
  };
}

describe('views of a promotion awaiting waivers', () => {
  test('airlock status: ids and waivability of findings, the waivers, what is short, the command', () => {
    const text = renderStatus(awaiting());
    assert.match(text, /block +replicas: replicas 3 → 30 \[replicas-1111111111, waivable\]/);
    assert.match(
      text,
      /waiver +alice via cli at 2026-11-28T00:30:00.000Z waived replicas-1111111111, memory-increase-2222222222: capacity reviewed/,
    );
    assert.match(text, /WAITING +memory-increase-2222222222: waived by 1\/2/);
    assert.doesNotMatch(text, /WAITING +replicas/);
    assert.match(text, new RegExp(`airlock waive ${WID} --as ID --key FILE --finding ${M} --reason`));
    assert.equal(
      describeInterruption({ kind: 'waiver_timeout', hours: 72, waiting: [M] }),
      `blocked: no complete set of signed waivers within 72 h (still waiting: ${M})`,
    );
  });

  test('Web UI details and the check run say what waits; the check run gives the command', () => {
    const s = awaiting();
    assert.match(
      promotionDetails(s, Date.parse(s.now)),
      new RegExp(`waivers \\(alice: ${R}, ${M}; bob: ${R}\\); waiting for ${M} \\(2 each\\)`),
    );
    assert.equal(checkRunTitle(s), 'blocked, awaiting signed waivers: 1 finding to waive');
    const summary = checkRunSummary(s);
    assert.match(summary, /\*\*Waiting for signed waivers\*\* until 2026-12-01T00:00:00.000Z/);
    assert.match(summary, new RegExp(`- \`${M}\`: waived by 1/2`));
    assert.match(summary, new RegExp(`airlock waive ${WID} --as ID --key FILE --finding ${M} --reason`));
    assert.match(summary, /Waiver by bob \(slack, .*\) of `replicas-1111111111`: load test passed/);
    assert.match(summary, /`replicas-1111111111`, waivable/);
  });

  test('Slack: the Waive button carries exactly the findings still waiting; none once all are waived', () => {
    const s = awaiting();
    const blocks = JSON.stringify(approvalBlocks(s).blocks);
    assert.match(blocks, new RegExp(`"action_id":"airlock_waive".*"value":"${WID} ${M}"`));
    const done: PromotionState = {
      ...s,
      waivers: [...s.waivers!, { ...s.waivers![1], by: 'carol', findings: [M] }],
    };
    assert.doesNotMatch(JSON.stringify(approvalBlocks(done).blocks), /airlock_waive"/);
  });
});
