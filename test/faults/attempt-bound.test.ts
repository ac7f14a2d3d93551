// Activities that call Temporal are bound to their attempt (src/activities/attempt-bound.ts): a query
// nobody answers (its workflow's worker is gone) ends at the attempt's start-to-close deadline, or
// at once when the attempt is cancelled (a worker shutdown), instead of holding the attempt and the
// worker's shutdown for ever. Seen on CI as a worker that could not shut down in 30 s.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { createRig, timeSkippingEnv } from '../helpers/harness';

let env: TestWorkflowEnvironment;
let orphan: string;
beforeAll(async () => {
  env = await timeSkippingEnv();
  // A running promotion whose task queue no worker polls: its queries are never answered.
  orphan = `promotion-orphan-${randomUUID()}`;
  await env.client.workflow.start('promotion', { workflowId: orphan, taskQueue: `nobody-${randomUUID()}`, args: [] });
});
afterAll(async () => {
  await env.client.workflow.getHandle(orphan).terminate('test over');
  await env?.teardown();
});

/** How the call ended, and after how long. */
async function settle(p: Promise<unknown>): Promise<{ ms: number; error?: string }> {
  const t0 = Date.now();
  try {
    await p;
    return { ms: Date.now() - t0 };
  } catch (err) {
    return { ms: Date.now() - t0, error: `${String(err)} (${String((err as Error).cause)})` };
  }
}

describe('activities that call Temporal are bound to their attempt', () => {
  test('a query nobody answers ends at the attempt deadline', async () => {
    const acts = createActivities(createRig(env).deps);
    const r = await settle(
      new MockActivityEnvironment({ startToCloseTimeoutMs: 1500 }).run(acts.hasPromotionEnded, orphan),
    );
    assert.ok(r.error, 'the unanswered query failed');
    assert.match(r.error, /DEADLINE_EXCEEDED/);
    assert.ok(r.ms >= 1400 && r.ms < 10_000, `ended after ${r.ms} ms`);
  });

  test('a cancelled attempt (a worker shutdown) ends its unanswered query at once', async () => {
    const acts = createActivities(createRig(env).deps);
    const a = new MockActivityEnvironment({ startToCloseTimeoutMs: 10 * 60_000 });
    const p = settle(a.run(acts.hasPromotionEnded, orphan));
    setTimeout(() => a.cancel('WORKER_SHUTDOWN'), 300);
    const r = await p;
    assert.ok(r.error, 'the unanswered query failed');
    assert.match(r.error, /CANCELLED/);
    assert.ok(r.ms < 5_000, `ended after ${r.ms} ms`);
  });
});
