// `airlock report` counts promotions that went on past a block on signed waivers: by rule lifted and
// by signer, from each promotion's result (src/cli/report.ts).
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { countWaivers, emptyScoreboard, renderReport } from '../../../src/cli/report';
import type { PromotionResult } from '../../../src/workflows/messages';

const waiver = (by: string, findings: string[]) => ({
  by,
  at: '2026-11-28T00:00:00.000Z',
  findings,
  reason: 'reviewed',
  via: 'cli',
  attribution: 'approver-key' as const,
});

test('waived promotions are counted by rule and by signer; unwaived ones are not', () => {
  const board = emptyScoreboard('2026-11-01T00:00:00.000Z', 30);
  const { waived } = board;
  const result = (waivers?: PromotionResult['waivers']): PromotionResult => ({
    workflowId: 'promotion-svc-x',
    outcome: 'promoted',
    approvals: [],
    findings: [
      { rule: 'replicas', level: 'block', message: 'r', id: 'replicas-1', waivable: true },
      { rule: 'memory-increase', level: 'block', message: 'm', id: 'memory-increase-2', waivable: true },
      { rule: 'liveness-probe', level: 'warn', message: 'w', id: 'liveness-probe-3' },
    ],
    ...(waivers ? { waivers } : {}),
  });
  countWaivers(waived, result([waiver('alice', ['replicas-1', 'memory-increase-2']), waiver('bob', ['replicas-1'])]));
  countWaivers(waived, result([waiver('bob', ['replicas-1'])]));
  countWaivers(waived, result());
  assert.deepEqual(waived, {
    total: 2,
    byRule: { replicas: 2, 'memory-increase': 1 },
    byApprover: { alice: 1, bob: 2 },
  });
  assert.match(
    renderReport(board),
    /\n {2}waived \(signed\) +2 +by rule: replicas 2, memory-increase 1; signed by: alice 1, bob 2\n/,
  );
});
