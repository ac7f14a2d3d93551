// The blast-radius slot cannot be forged or lost (issue 12): a raw grant, raw limits, a raw release,
// a terminated slot workflow and a reset holder, each sent the way the Web UI or
// `temporal workflow signal` would send it. Time-skipping server, simulated deployer.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRig, devServerEnv, state, timeSkippingEnv, type Rig } from '../helpers/harness';
import { waitFor } from '../faults/fault-rig';
import {
  releaseSlotSignal,
  requestSlotSignal,
  slotGrantedSignal,
  slotStateQuery,
  type PromotionResult,
  type SlotState,
} from '../../src/workflows/messages';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const slots = (e: TestWorkflowEnvironment, rig: Rig): Promise<SlotState> =>
  e.client.workflow.getHandle(rig.slotWorkflowId).query(slotStateQuery);

const until = (what: string, h: WorkflowHandle, ok: (s: Awaited<ReturnType<typeof state>>) => boolean) =>
  waitFor(what, async () => {
    const s = await state(h);
    return ok(s) ? s : undefined;
  });

/** A holder baking (search-service) and a second service queued behind it (payment-service). */
async function holderAndQueued(e: TestWorkflowEnvironment, rig: Rig) {
  const a = await rig.start({ service: 'search-service' });
  await until('a baking', a, (s) => s.stage === 'baking');
  const b = await rig.start({ service: 'payment-service' });
  await until('b queued', b, (s) => s.queuePosition === 1);
  assert.deepEqual(
    (await slots(e, rig)).holders.map((h) => h.workflowId),
    [a.workflowId],
  );
  return { a, b };
}

async function endBoth(a: WorkflowHandle, b: WorkflowHandle) {
  for (const h of [a, b]) await h.signal('abort', { by: 'bob', reason: 'end of test' });
  for (const h of [a, b]) assert.equal(((await h.result()) as PromotionResult).outcome, 'aborted');
}

const paymentDeploys = (rig: Rig) => rig.deployer.operations.filter((o) => o.service === 'payment-service');

describe('blast-radius slot protocol', () => {
  test('a raw slotGranted signal does not start a queued promotion: the grant is confirmed with the slot', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const { a, b } = await holderAndQueued(env, rig);
      await b.signal(slotGrantedSignal, { grantedAt: new Date().toISOString() });
      const refused = await until('forged grant refused', b, (s) => s.refusals.some((r) => r.action === 'slotGranted'));
      assert.equal(refused.stage, 'queued');
      assert.match(refused.refusals.at(-1)!.reason, /not confirmed/);
      assert.deepEqual(paymentDeploys(rig), []);
      assert.deepEqual(
        (await slots(env, rig)).holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      await endBoth(a, b);
    });
  });

  test('limits come from the policy: a raw requestSlot asking for five services in flight changes nothing', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const { a, b } = await holderAndQueued(env, rig);
      const slot = env.client.workflow.getHandle(rig.slotWorkflowId);
      // Re-sent for the queued promotion, and for a new one nobody started, with raised limits.
      for (const workflowId of [b.workflowId, 'intruder']) {
        await slot.signal(requestSlotSignal, {
          workflowId,
          service: 'search-service',
          maxServicesInFlight: 5,
          maxStartsPerHour: 50,
        });
      }
      await env.sleep('2 minutes');
      const s = await slots(env, rig);
      assert.equal(s.maxServicesInFlight, 1);
      assert.equal(s.maxStartsPerHour, 5);
      assert.deepEqual(
        s.holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      assert.equal((await state(b)).stage, 'queued');
      assert.deepEqual(paymentDeploys(rig), []);
      await endBoth(a, b);
    });
  });

  test('a raw releaseSlot naming a live holder is refused and recorded; the holder keeps its slot', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const { a, b } = await holderAndQueued(env, rig);
      await env.client.workflow.getHandle(rig.slotWorkflowId).signal(releaseSlotSignal, { workflowId: a.workflowId });
      const s = await waitFor('release refused', async () => {
        const x = await slots(env, rig);
        return x.refusals?.length ? x : undefined;
      });
      assert.equal(s.refusals![0].workflowId, a.workflowId);
      assert.match(s.refusals![0].reason, /still running/);
      assert.deepEqual(
        s.holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      await env.sleep('30 minutes');
      assert.equal((await state(b)).stage, 'queued');
      assert.deepEqual(paymentDeploys(rig), []);
      await endBoth(a, b);
    });
  });

  test('a terminated slot workflow is recreated with its holder recovered; the queued promotion asks again and waits', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const { a, b } = await holderAndQueued(env, rig);
      await env.client.workflow.getHandle(rig.slotWorkflowId).terminate('operator cleaning up');
      // b asks again after its timeout; that request creates the slot workflow anew.
      await env.sleep('11 minutes');
      const s = await waitFor('slot recreated with b queued', async () => {
        const x = await slots(env, rig).catch(() => undefined);
        return x?.queue.some((q) => q.workflowId === b.workflowId) ? x : undefined;
      });
      assert.deepEqual(
        s.holders.map((h) => h.workflowId),
        [a.workflowId],
        'a, still baking, is a holder again',
      );
      assert.equal((await state(b)).stage, 'queued');
      assert.deepEqual(paymentDeploys(rig), []);
      // When a ends, b gets the slot.
      await a.signal('abort', { by: 'bob', reason: 'make room' });
      await a.result();
      await until('b granted', b, (s) => s.stage === 'baking');
      await b.signal('abort', { by: 'bob', reason: 'end of test' });
      await b.result();
    });
  });
});

// Reset needs the real server's ResetWorkflowExecution (the time-skipping server has none).
describe('blast-radius slot protocol on the dev server', () => {
  let dev: TestWorkflowEnvironment;
  beforeAll(async () => {
    dev = await devServerEnv();
  });
  afterAll(async () => {
    await dev?.teardown();
  });

  test('a holder reset to before its slot request gets its grant again and goes on', async () => {
    const rig = createRig(dev);
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await until('a baking', a, (s) => s.stage === 'baking');
      const { events } = await a.fetchHistory();
      const requested = events!.findIndex(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'requestSlot',
      );
      const taskDone = [...events!.slice(0, requested)]
        .reverse()
        .find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      assert.ok(taskDone, 'a workflow task before the slot request');
      const described = await a.describe();
      const reset = await dev.client.workflowService.resetWorkflowExecution({
        namespace: dev.namespace ?? 'default',
        workflowExecution: { workflowId: a.workflowId, runId: described.runId },
        reason: 'test: reset to before the slot request',
        workflowTaskFinishEventId: taskDone.eventId,
        requestId: `reset-${a.workflowId}`,
      });
      const again = dev.client.workflow.getHandle(a.workflowId, reset.runId ?? undefined);
      const s = await until('reset run granted and baking', again, (x) => x.stage === 'baking');
      assert.equal(s.stage, 'baking');
      assert.deepEqual(
        (await slots(dev, rig)).holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      await again.signal('abort', { by: 'bob', reason: 'end of test' });
      assert.equal(((await again.result()) as PromotionResult).outcome, 'aborted');
    });
  });
});
