// What the Web UI's workflow list and detail page say about a promotion (user metadata).
import { describe, expect, test } from 'vitest';
import type { PromotionState } from '../../../src/workflows/messages';
import { promotionDetails, promotionSummary } from '../../../src/workflows/ui-details';

const change = {
  service: 'search-service',
  commit: 'a'.repeat(40),
  author: 'airlock-agent[bot]',
  version: 'v2',
  title: 'raise memory',
};
const base: PromotionState = {
  workflowId: 'promotion-search-service-aaaa',
  change,
  stage: 'baking',
  now: '2026-11-26T10:00:00.000Z',
  shortBake: false,
  findings: [],
  approvals: [],
  refusals: [],
  errorRate: { samples: 0, inconclusive: 0, stale: 0 },
  deployed: ['staging'],
};
const now = Date.parse(base.now);

describe('Web UI details', () => {
  test('the summary names the service, the short commit and the title', () => {
    expect(promotionSummary(change)).toBe('search-service @ aaaaaaaaaaaa: raise memory');
  });
  test('a bake shows its end time and what is left', () => {
    const text = promotionDetails({ ...base, bakeEndsAt: '2026-11-27T09:30:00.000Z' }, now);
    expect(text).toContain('stage: baking');
    expect(text).toContain('bake ends at 2026-11-27T09:30:00.000Z (in 23h 30m)');
    expect(text).toContain('deployed: staging');
  });
  test('approvals so far out of the required count', () => {
    const a = { approver: 'alice', via: 'cli', at: base.now } as PromotionState['approvals'][number];
    const text = promotionDetails({ ...base, stage: 'awaiting_approval', approvals: [a] }, now);
    expect(text).toContain('approvals 1/2 (alice)');
  });
  test('a rolled-back promotion says so first, with the breach in readable numbers', () => {
    const text = promotionDetails(
      {
        ...base,
        stage: 'ended',
        outcome: 'rolled_back',
        deployed: [],
        interruption: {
          kind: 'breach',
          sample: {
            environment: 'production',
            ...{ errors: 31, requests: 1000, baselineErrors: 10, baselineRequests: 1000 },
            ...{ rate: 0.031, baseline: 0.01, requestCount: 1000 }, // derived from the counts
            observedAt: base.now,
          },
          thresholdPercent: 5,
          baselineUsed: 0.01,
          risePercent: 209.99999999999997,
        },
        rollback: { startedAt: base.now, steps: ['restore production', 'restore staging'] },
      },
      now,
    );
    expect(text.split('\n')[0]).toContain('**ROLLED_BACK**');
    expect(text).toContain('breach in production: 3.10% vs 1.00% (+210%)');
    expect(text).toContain('rollback: restore production, restore staging');
    expect(text).not.toContain('deployed:');
  });
  test('a failed restore is never shown as clean', () => {
    const text = promotionDetails(
      {
        ...base,
        stage: 'ended',
        outcome: 'failed',
        rollback: { startedAt: base.now, steps: ['restore staging'], error: 'HTTP 503' },
      },
      now,
    );
    expect(text).toContain('FAILED: HTTP 503');
  });
  test('with hold, a watch too quiet to judge is shown while the promotion goes on', () => {
    const waiting: PromotionState = {
      ...base,
      stage: 'awaiting_approval',
      deployed: ['staging', 'production'],
      errorRate: { ...base.errorRate, insufficient: { canary: { requests: 600, needed: 2669 } } },
    };
    const text = promotionDetails(waiting, now);
    expect(text).toContain(
      'not enough traffic to judge the canary: 600 requests (about 2,669 needed to catch a doubling of the error rate)',
    );
    // Nothing is said about the watches that had the traffic.
    expect(text).not.toContain('staging bake');
    expect(promotionDetails(base, now)).not.toContain('not enough traffic');
    // A baseline at which no traffic would do is said as such.
    const never = promotionDetails(
      { ...waiting, errorRate: { ...base.errorRate, insufficient: { staging: { requests: 90, needed: null } } } },
      now,
    );
    expect(never).toContain(
      'not enough traffic to judge the staging bake: 90 requests (no amount would catch a doubling of the error rate at this baseline)',
    );
  });
  test('a promotion rolled back for too little traffic says it once', () => {
    const shortfall = { requests: 600, needed: 2669 };
    const text = promotionDetails(
      {
        ...base,
        stage: 'ended',
        outcome: 'rolled_back',
        deployed: [],
        errorRate: { ...base.errorRate, insufficient: { canary: shortfall } },
        interruption: { kind: 'insufficient_evidence', watch: 'canary', environment: 'production', ...shortfall },
      },
      now,
    );
    expect(text.match(/not enough traffic to judge the canary/g)).toHaveLength(1);
  });
});
