// Approval gate: who may approve, when, and what a refusal says. Time-skipping server, real bake.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { refusal } from '../helpers/update-refusal';
import { createRig, feed, state, timeSkippingEnv, untilStage } from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { abortUpdate, approveUpdate, rejectUpdate, type PromotionResult } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('approval gate', () => {
  test('an approval before the bake ends is refused with the stage and the time left; nothing is recorded', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await feed(env, h, {
        stop: (x) => Date.parse(x.now) - Date.parse(x.stagingReadyAt!) >= 3 * 3600_000,
        stepMinutes: 30,
      });
      const msg = await refusal(h.executeUpdate(approveUpdate, { args: [{ approver: 'alice' }] }));
      assert.match(msg, /not awaiting approval: stage is baking; bake ends in 2[01]h \d\dm/);
      const s = await state(h);
      assert.deepEqual(s.approvals, []);
      assert.equal(s.stage, 'baking');
      await h.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'end of test' }] });
      await h.result();
    });
  });

  test('the author, unknown people and a repeated approver are refused; two distinct approvers are needed', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [{ approver: 'airlock-agent[bot]' }] })),
        /author.*can never approve/,
      );
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [{ approver: 'mallory' }] })),
        /"mallory" is not in approvers.allowed/,
      );
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [{ approver: ' ' }] })),
        /approve: approver: is required/,
      );
      const first = await h.executeUpdate(approveUpdate, {
        args: [await signedApproval(env, h, 'alice', 'canary clean')],
      });
      assert.deepEqual([first.complete, first.required, first.approvals.length], [false, 2, 1]);
      assert.match(
        await refusal(h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] })),
        /already approved/,
      );
      // The same refusals reach signals too: recorded, never counted.
      await h.signal('approve', { approver: 'airlock-agent[bot]' });
      await h.signal('approve', { approver: 'alice' });
      let s = await state(h);
      assert.equal(s.stage, 'awaiting_approval');
      assert.deepEqual(
        s.approvals.map((a) => a.approver),
        ['alice'],
      );
      assert.equal(s.refusals.filter((r) => r.action === 'approve').length, 2);
      assert.match(
        await refusal(h.executeUpdate(rejectUpdate, { args: [{ approver: 'airlock-agent[bot]', reason: 'x' }] })),
        /author/,
      );
      assert.match(
        await refusal(h.executeUpdate(rejectUpdate, { args: [{ approver: 'bob', reason: '' }] })),
        /reject: reason: is required/,
      );
      const second = await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      assert.equal(second.complete, true);
      await feed(env, h, { stop: () => false });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
      s = await state(h);
      assert.equal(s.stage, 'ended');
      await assert.rejects(h.executeUpdate(approveUpdate, { args: [{ approver: 'carol' }] }), (e: Error) => {
        return /completed|not found/i.test(e.message);
      });
    });
  });

  test('a malformed or rate-only error-rate signal is refused and recorded; it cannot breach or count as data', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      const now = new Date(await env.currentTimeMs()).toISOString();
      await h.signal('errorRate', {
        environment: 'staging',
        ...{ errors: 7000, requests: 1000, baselineErrors: 10, baselineRequests: 1000 },
        observedAt: now,
      });
      await h.signal('errorRate', {
        environment: 'qa',
        ...{ errors: 900, requests: 1000, baselineErrors: 10, baselineRequests: 1000 },
        observedAt: 'yesterday',
      });
      // A breach, were rates still judged (+9,900 %): the old shape is refused, saying what to send.
      await h.signal('errorRate', {
        environment: 'staging',
        rate: 0.99,
        baseline: 0.01,
        requestCount: 1000,
        observedAt: now,
      });
      const s = await state(h);
      assert.equal(s.stage, 'baking');
      assert.deepEqual(
        s.refusals.map((r) => r.reason.split(':')[0]),
        ['errors', 'environment', 'rate'],
      );
      assert.match(
        s.refusals[2].reason,
        /^rate: rate-only samples \(rate, baseline, requestCount\) are no longer accepted: send counts instead: errors and requests .*baselineErrors and baselineRequests/,
      );
      assert.equal(s.errorRate.samples, 0);
      await h.executeUpdate(abortUpdate, { args: [{ by: 'bob', reason: 'end of test' }] });
      await h.result();
    });
  });
});
