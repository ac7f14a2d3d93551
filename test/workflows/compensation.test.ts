// Compensation outside the workflow's own code (issue 12, item 7): a promotion terminated from the
// outside runs no rollback; the blast-radius slot's reaper notices within its 5-minute check, even
// with nobody queued, and starts `compensate-<promotion id>`, which restores the snapshots the
// promotion's history records and only then frees the slot. A compensation whose restore keeps
// failing holds the slot until a signed `resolve`. Time-skipping server, simulated deployer.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { createRig, feed, state, timeSkippingEnv, untilStage, waitFor, type Rig } from '../helpers/harness';
import { bindingOfPromotion, testSecretKey } from '../helpers/approver-keys';
import { signedRequest } from '../../src/approvals/signed-request';
import {
  abortUpdate,
  compensationWorkflowId,
  resolveUpdate,
  slotStateQuery,
  stateQuery,
  type PromotionState,
  type SlotState,
} from '../../src/workflows/messages';
import type { CompensationResult } from '../../src/workflows/compensation';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SERVICE = 'notification-service';
const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };
const HOLDER_CHECK_MS = 5 * 60_000;

const slots = (rig: Rig): Promise<SlotState> => env.client.workflow.getHandle(rig.slotWorkflowId).query(slotStateQuery);

/** Skips server time a minute at a time until the reaper has started the compensation; returns it and when. */
async function compensationOf(promotion: WorkflowHandle): Promise<{ handle: WorkflowHandle; startedAt: number }> {
  const handle = env.client.workflow.getHandle(compensationWorkflowId(promotion.workflowId));
  for (let i = 0; i < 15; i++) {
    try {
      const d = await handle.describe();
      return { handle, startedAt: d.startTime.getTime() };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    await env.sleep('1 minute');
  }
  throw new Error(`no compensation of ${promotion.workflowId} after 15 minutes`);
}

/** `a` of notification-service baking in the slot, `b` of payment-service queued behind it. */
async function bakingWithOneQueued(rig: Rig): Promise<{ a: WorkflowHandle; b: WorkflowHandle }> {
  const a = await rig.start({ service: SERVICE });
  await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
  const b = await rig.start({ service: 'payment-service' });
  await waitFor(
    () => state(b),
    (s) => s.queuePosition === 1,
    'b queued',
  );
  return { a, b };
}

/** The compensation's `state` (registered once it has read the promotion's history). */
async function compState(comp: WorkflowHandle): Promise<PromotionState> {
  for (let i = 0; ; i++) {
    try {
      return await comp.query(stateQuery);
    } catch (err) {
      // Queried before its first workflow task has run: the SDK raises QueryNotRegisteredError itself,
      // or wraps the server's answer in a cause, depending on timing.
      const e = err as Error & { cause?: Error };
      if (i > 200 || !/did not register a handler/.test(`${e.message} ${e.cause?.message}`)) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe('a terminated promotion is compensated by the slot reaper', () => {
  test('a lone holder terminated during the bake is compensated within one holder check; the slot is freed', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const a = await rig.start({ service: SERVICE });
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      assert.equal(rig.deployer.view(SERVICE, 'staging').stable?.version, 'v2');
      const terminatedAt = await env.currentTimeMs();
      await a.terminate('operator pulled the plug');
      assert.equal(
        rig.deployer.view(SERVICE, 'staging').stable?.version,
        'v2',
        'a terminated workflow rolls nothing back',
      );

      // Nobody waits for the slot, and the lone holder is still checked.
      const { handle: comp, startedAt } = await compensationOf(a);
      assert.ok(startedAt - terminatedAt <= HOLDER_CHECK_MS + 60_000, `started ${startedAt - terminatedAt} ms after`);
      const r: CompensationResult = await comp.result();
      assert.equal(r.promotionStatus, 'TERMINATED');
      assert.equal(r.outcome, 'failed');
      assert.deepEqual(r.restored, ['restore staging']);
      assert.deepEqual(r.stillDeployed, []);
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
      assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
      assert.deepEqual(
        rig.deployer.operations.map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'restore:staging'],
      );

      // The compensation answers for the promotion: its state, and a loud report naming it.
      const s = await compState(comp);
      assert.equal(s.workflowId, a.workflowId);
      assert.equal(s.stage, 'ended');
      assert.equal(s.outcome, 'failed');
      assert.equal(s.interruption?.kind, 'workflow_ended');
      assert.deepEqual(
        s.interruption?.kind === 'workflow_ended' && [s.interruption.status, s.interruption.compensation],
        ['TERMINATED', comp.workflowId],
      );
      assert.deepEqual(s.rollback?.steps, ['restore staging']);
      assert.deepEqual(s.deployed, []);
      const reported = rig.reports.filter((x) => x.workflowId === a.workflowId);
      assert.deepEqual(
        reported.slice(-2).map((x) => [x.stage, x.outcome, x.interruption?.kind]),
        [
          ['rolling_back', undefined, 'workflow_ended'],
          ['ended', 'failed', 'workflow_ended'],
        ],
      );
      await waitFor(
        () => slots(rig),
        (x) => x.holders.length === 0,
        'slot released',
      );
    });
  });

  test('terminated during the bake with another service queued: staging restored exactly, then that service is granted', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const { a, b } = await bakingWithOneQueued(rig);
      await a.terminate('operator pulled the plug');
      const { handle: comp } = await compensationOf(a);
      const r: CompensationResult = await comp.result();
      assert.equal(r.outcome, 'failed');
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);

      await feed(env, b, { stop: untilStage('baking'), stepMinutes: 1 });
      assert.deepEqual(
        (await slots(rig)).holders.map((h) => h.workflowId),
        [b.workflowId],
      );
      // b touched nothing before notification-service was restored.
      const ops = rig.deployer.operations.map((o) => `${o.service} ${o.op}:${o.environment}`);
      assert.ok(
        ops.indexOf(`${SERVICE} restore:staging`) < ops.findIndex((o) => o.startsWith('payment-service')),
        ops.join(', '),
      );
      await b.executeUpdate(abortUpdate, { args: [{ by: 'bob', reason: 'end of test' }] });
      await b.result();
    });
  });

  test('a compensation whose restore keeps failing holds the slot until a signed resolve', async () => {
    let apiDown = true; // until a human has fixed it by hand
    const rig = createRig(env, {
      deployer: {
        fault: (op) => (op === 'restore' && apiDown ? new Error('HTTP 503 from the API server') : undefined),
      },
    });
    await rig.run(async () => {
      const { a, b } = await bakingWithOneQueued(rig);
      await a.terminate('history limit reached');
      const { handle: comp } = await compensationOf(a);
      // Restores retry with backoff for rollback.maxRetryMinutes (30 by default), then give up.
      let s = await compState(comp);
      for (let i = 0; i < 100 && s.stage !== 'awaiting_resolution'; i++) {
        await env.sleep('5 minutes');
        s = await compState(comp);
      }
      assert.equal(s.stage, 'awaiting_resolution');
      assert.equal(s.outcome, 'rollback_failed');
      assert.deepEqual(s.deployed, ['staging']);
      assert.match(s.rollback?.error ?? '', /restore staging: .*HTTP 503/);
      assert.equal(rig.deployer.view(SERVICE, 'staging').stable?.version, 'v2', 'the change is really still there');

      // Several reaper checks later, the slot is still held and b still waits.
      await env.sleep('20 minutes');
      assert.deepEqual(
        (await slots(rig)).holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      assert.equal((await state(b)).stage, 'queued');
      const firstRun = await comp.describe();
      assert.equal(firstRun.status.name, 'RUNNING');

      // Terminating the compensation does not skip it either: the next check starts it again.
      await comp.terminate('operator: not this too');
      await env.sleep('6 minutes');
      const again = await comp.describe();
      assert.equal(again.status.name, 'RUNNING');
      assert.notEqual(again.runId, firstRun.runId);
      assert.deepEqual(
        (await slots(rig)).holders.map((h) => h.workflowId),
        [a.workflowId],
      );
      for (let i = 0; i < 100 && (await compState(comp)).stage !== 'awaiting_resolution'; i++)
        await env.sleep('5 minutes');

      // The same resolve rules as a promotion's: unsigned is refused; signed by an allowed human ends it.
      const note = 'restored staging by hand from the snapshot';
      await assert.rejects(
        comp.executeUpdate(resolveUpdate, { args: [{ approver: 'alice', note, via: 'cli' }] }),
        (err: unknown) => /resolve: unsigned/.test(String((err as { cause?: Error }).cause?.message)),
      );
      // Signed, as `airlock resolve` signs, for the commit and policy hash the compensation shows.
      const binding = await bindingOfPromotion(comp);
      assert.ok(binding, "the compensation shows the promotion's policy hash");
      const signed = signedRequest('resolve', {
        binding,
        workflowId: comp.workflowId,
        approver: 'alice',
        text: note,
        secretKey: testSecretKey('alice'),
        now: await env.currentTimeMs(),
      });
      apiDown = false;
      await comp.executeUpdate(resolveUpdate, { args: [signed] });
      const r: CompensationResult = await comp.result();
      assert.equal(r.outcome, 'rollback_failed');
      assert.deepEqual(r.stillDeployed, ['staging'], 'Airlock never claims it restored what it did not');
      assert.equal((await compState(comp)).resolution?.by, 'alice');

      const sb = await feed(env, b, { stop: (x) => x.stage !== 'queued', stepMinutes: 1 });
      assert.notEqual(sb.stage, 'queued');
      await b.executeUpdate(abortUpdate, { args: [{ by: 'bob', reason: 'end of test' }] });
      await b.result();
    });
  });
});
