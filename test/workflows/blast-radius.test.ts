// The blast-radius slot: one service in flight, FIFO, hourly start limit, terminated holders.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createRig, feed, state, timeSkippingEnv, untilStage, waitFor } from '../helpers/harness';
import { abortUpdate, slotStateQuery, type PromotionResult, type SlotState } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const EMPTY: SlotState = { holders: [], queue: [], startsInLastHour: [], maxServicesInFlight: 0, maxStartsPerHour: 0 };
/** The slot workflow's state; empty before the first promotion has created it. */
const slots = (rig: { slotWorkflowId: string }): Promise<SlotState> =>
  env.client.workflow
    .getHandle(rig.slotWorkflowId)
    .query(slotStateQuery)
    .catch((err) => {
      if (err instanceof WorkflowNotFoundError) return EMPTY;
      throw err;
    });

describe('blast-radius slot', () => {
  test('a second service queues behind the one in flight and starts only when it ends', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      const b = await rig.start({ service: 'payment-service' });
      const queued = await waitFor(
        () => state(b),
        (s) => s.queuePosition === 1,
        'b queued at position 1',
      );
      assert.equal(queued.stage, 'queued');
      assert.deepEqual(
        (await slots(rig)).holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      // Hours pass: b stays queued while a bakes.
      await feed(env, a, {
        stop: (s) => Date.parse(s.now) - Date.parse(s.stagingReadyAt!) > 6 * 3600_000,
        stepMinutes: 30,
      });
      assert.equal((await state(b)).stage, 'queued');
      assert.deepEqual(
        rig.deployer.operations.filter((o) => o.service === 'payment-service'),
        [],
      );
      await a.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'make room' }] });
      const ra: PromotionResult = await a.result();
      assert.equal(ra.outcome, 'aborted');
      const sb = await waitFor(
        () => state(b),
        (s) => s.stage === 'baking',
        'b baking',
      );
      const endedA = (await state(a)).endedAt!;
      assert.ok(Date.parse(sb.stagingReadyAt!) >= Date.parse(endedA));
      await b.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'end of test' }] });
      await b.result();
      // The slot confirms a release with the promotion (it has ended) before it frees the slot.
      await waitFor(
        () => slots(rig),
        (s) => s.holders.length === 0,
        'slot released',
      );
    });
  });

  test('two changes of one service never fly together, even with room for more services', async () => {
    const rig = createRig(env, { policy: { maxServicesInFlight: 3 } });
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await waitFor(
        () => state(a),
        (s) => s.stage !== 'policy_gate' && s.stage !== 'queued',
        'a granted',
      );
      const b = await rig.start({ service: 'search-service' });
      await waitFor(
        () => state(b),
        (s) => s.queuePosition === 1,
        'b queued',
      );
      const c = await rig.start({ service: 'payment-service' });
      // Strict FIFO: c waits behind b.
      const sc = await waitFor(
        () => state(c),
        (s) => s.queuePosition === 2,
        'c queued behind b',
      );
      assert.equal(sc.stage, 'queued');
      for (const h of [a, b, c]) await h.signal('abort', { by: 'bob', reason: 'end of test' });
      for (const h of [a, b, c]) assert.equal(((await h.result()) as PromotionResult).outcome, 'aborted');
    });
  });

  test('hourly limit: the third start in an hour waits until the first is an hour old', async () => {
    const rig = createRig(env, { policy: { maxServicesInFlight: 3, maxStartsPerHour: 2 } });
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      const b = await rig.start({ service: 'payment-service' });
      await waitFor(
        () => slots(rig),
        (s) => s.holders.length === 2,
        'two holders',
      );
      const c = await rig.start({ service: 'notification-service' });
      const limited = await waitFor(
        () => slots(rig),
        (s) => s.queue.length === 1 && !!s.nextStartAllowedAt,
        'c held by hourly limit',
      );
      assert.equal(limited.startsInLastHour.length, 2);
      for (const h of [a, b]) await h.signal('abort', { by: 'bob', reason: 'free the slots' });
      for (const h of [a, b]) await h.result();
      // Slots are free, but the hour is not over: c still waits.
      assert.equal((await state(c)).stage, 'queued');
      const firstStart = Date.parse(limited.startsInLastHour[0]);
      const sc = await feed(env, c, { stop: (s) => s.stage !== 'queued', stepMinutes: 5 });
      assert.ok(Date.parse(sc.now) >= firstStart + 3600_000);
      await c.signal('abort', { by: 'bob', reason: 'end of test' });
      await c.result();
    });
  });

  test('a terminated holder cannot keep the slot: it is reclaimed for the next in line', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await waitFor(
        () => state(a),
        (s) => s.stage === 'baking',
        'a baking',
      );
      const b = await rig.start({ service: 'payment-service' });
      await waitFor(
        () => state(b),
        (s) => s.queuePosition === 1,
        'b queued',
      );
      await a.terminate('operator pulled the plug');
      const sb = await feed(env, b, { stop: (s) => s.stage !== 'queued', stepMinutes: 2 });
      assert.notEqual(sb.stage, 'queued');
      assert.deepEqual(
        (await slots(rig)).holders.map((h) => h.workflowId),
        [b.workflowId],
      );
      await b.signal('abort', { by: 'bob', reason: 'end of test' });
      await b.result();
    });
  });

  test('aborted while queued: nothing deployed, the queue forgets it', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await waitFor(
        () => state(a),
        (s) => s.stage === 'baking',
        'a baking',
      );
      const b = await rig.start({ service: 'payment-service' });
      await waitFor(
        () => state(b),
        (s) => s.queuePosition === 1,
        'b queued',
      );
      await b.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'not today' }] });
      assert.equal(((await b.result()) as PromotionResult).outcome, 'aborted');
      // Forgotten once the slot has confirmed with b that it has ended.
      await waitFor(
        () => slots(rig),
        (s) => s.queue.length === 0,
        'b out of the queue',
      );
      assert.deepEqual(
        rig.deployer.operations.filter((o) => o.service === 'payment-service'),
        [],
      );
      await a.signal('abort', { by: 'bob', reason: 'end of test' });
      await a.result();
    });
  });
});
