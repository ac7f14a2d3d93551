// Bounded history (issue 12): a promotion whose long waits fill its history continues as new there,
// and the next run goes on exactly where the last stopped: the rest of the bake and no more, the
// approvals so far, the signatures already used, the rollback plan, the slot, the error-rate
// monitor. Time-skipping server, real 24 h bake; a low history limit so each run is short.
import { afterEach, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  atRate,
  createRig,
  feed,
  sendSample,
  slotWhenReleased,
  state,
  timeSkippingEnv,
  untilStage,
  type Rig,
} from '../helpers/harness';
import { bindingOfPromotion, signedApproval, testSecretKey } from '../helpers/approver-keys';
import { floodUntilContinued, runHistories, type RunHistory } from '../helpers/runs';
import { diagnostic } from '../helpers/diagnostic';
import { signedRequest } from '../../src/approvals/signed-request';
import { readPromotion } from '../../src/client/promotion-view';
import { approveUpdate, resolveUpdate, type PromotionResult } from '../../src/workflows/messages';

// A server per test: a test that stops its worker with an activity outstanding (the status test)
// leaves the time-skipping server unable to skip time, which would stall the tests after it.
let env: TestWorkflowEnvironment;
beforeEach(async () => {
  env = await timeSkippingEnv();
});
afterEach(async () => {
  await env?.teardown();
});

const SERVICE = 'notification-service';
const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };
/** Events per run before it continues as new (the default is 5,000). */
const LIMIT = 400;
/** What one run may add past the limit before its next safe point continues it. */
const MARGIN = 60;

const refusedWith = (re: RegExp) => (err: unknown) => {
  assert.match(String((err as { cause?: Error }).cause?.message), re);
  return true;
};

/** The release is a signal the slot workflow handles in its own task, after the promotion's result: wait for it. */
async function assertSlotReleased(rig: Rig) {
  assert.deepEqual((await slotWhenReleased(env, rig.slotWorkflowId)).holders, []);
}

/** Every run but the last continued as new, none grew past the limit by more than the margin. */
async function assertBoundedRuns(h: WorkflowHandle, atLeast: number) {
  const runs = await runHistories(env.client, h.workflowId);
  assert.ok(runs.length >= atLeast, `${runs.length} runs, expected at least ${atLeast}`);
  assert.deepEqual(
    runs.map((r) => r.continuedAsNew),
    runs.map((_, i) => i < runs.length - 1),
  );
  diagnostic(
    `events per run: ${runs.map((r) => r.events).join(', ')} (limit ${LIMIT}, margin ${MARGIN}); past the limit: ${runs.map(eventsAfterLimit).join(' | ')}`,
  );
  for (const r of runs) assert.ok(r.events <= LIMIT + MARGIN, `a run of ${r.events} events: ${eventsAfterLimit(r)}`);
  return runs;
}

/** What a run recorded past the limit, by event type in order (run-length coded): what the margin was spent on. */
function eventsAfterLimit(r: RunHistory): string {
  const types = (r.history.events ?? [])
    .slice(LIMIT)
    .map((e) => String(temporal.api.enums.v1.EventType[e.eventType ?? 0]).replace(/^EVENT_TYPE_/, ''));
  const runs: Array<[string, number]> = [];
  for (const t of types) {
    const last = runs.at(-1);
    if (last && last[0] === t) last[1]++;
    else runs.push([t, 1]);
  }
  return runs.map(([t, n]) => (n > 1 ? `${t}×${n}` : t)).join(' ');
}

/** How often an activity was scheduled across every run of the promotion. */
async function scheduled(h: WorkflowHandle, activity: string): Promise<number> {
  const runs = await runHistories(env.client, h.workflowId);
  return runs
    .flatMap((r) => r.history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).length;
}

describe('bounded history: continue-as-new at safe points', () => {
  test('continued during the bake and between approvals: the bake ends on time, approvals count, a used signature stays used', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start({}, { historyLimit: LIMIT });
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      const flooded = await floodUntilContinued(h, LIMIT);
      let s = await state(h);
      assert.equal(s.stage, 'baking');
      // The refusals were carried over: the newest 50 kept, every other one counted.
      for (let i = 0; i < 50 && s.refusals.length + (s.refusalsDropped ?? 0) < flooded; i++) s = await state(h);
      assert.equal(s.refusals.length + (s.refusalsDropped ?? 0), flooded);
      // The new run is found the way the CLI and the Web UI find promotions.
      const d = await h.describe();
      assert.equal(d.status.name, 'RUNNING');
      assert.deepEqual(d.searchAttributes.AirlockService, [SERVICE]);
      assert.deepEqual(d.searchAttributes.AirlockStage, ['baking']);

      await feed(env, h, { stop: untilStage('awaiting_approval') });
      s = await state(h);
      const readyAt = Date.parse(s.stagingReadyAt!);
      const bakeEndsAt = Date.parse(s.bakeEndsAt!);
      assert.equal(bakeEndsAt - readyAt, 24 * 3600_000);
      // The canary came when the carried bake ended, not a fresh 24 h after the continue-as-new.
      const afterBake = Date.parse(s.canaryStartedAt!) - bakeEndsAt;
      assert.ok(afterBake >= 0 && afterBake < 60_000, `canary ${afterBake} ms after the bake ended`);

      const alice = await signedApproval(env, h, 'alice');
      const first = await h.executeUpdate(approveUpdate, { args: [alice] });
      assert.equal(first.complete, false);
      await floodUntilContinued(h, LIMIT);
      assert.equal((await state(h)).stage, 'awaiting_approval');
      // Alice's signed request, sent again in the next run, is a replay: refused, and not counted.
      await assert.rejects(
        h.executeUpdate(approveUpdate, { args: [alice] }),
        refusedWith(/signature was already used once \(replay\)/),
      );
      assert.deepEqual(
        (await state(h)).approvals.map((a) => a.approver),
        ['alice'],
      );
      const second = await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      assert.deepEqual([second.complete, second.approvals.length], [true, 2]);
      await feed(env, h, { stop: () => false });

      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
      assert.deepEqual(
        r.approvals.map((a) => a.approver),
        ['alice', 'bob'],
      );
      // Each step once: no second slot request, no redeploy of staging or the canary.
      assert.deepEqual(
        rig.deployer.operations.map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'deployCanary:production', 'promote:production'],
      );
      assert.equal(await scheduled(h, 'requestSlot'), 1);
      assert.equal(await scheduled(h, 'releaseSlot'), 1);
      await assertBoundedRuns(h, 3);
      await assertSlotReleased(rig);
    });
  });

  test('a breach after two continue-as-new restores both environments to the snapshots recorded in earlier runs', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start({}, { historyLimit: LIMIT });
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await floodUntilContinued(h, LIMIT); // staging's snapshot is in the first run's plan
      await feed(env, h, { stop: (s) => s.stage === 'canary' && s.deployed.includes('production') });
      await floodUntilContinued(h, LIMIT); // production's in the second's
      assert.equal((await state(h)).stage, 'canary');
      // The run is new code, but the promotion started with counts-only (carried in its flags): a
      // rate-only sample that the old per-sample rule would breach on is refused, not judged.
      const now = new Date(await env.currentTimeMs()).toISOString();
      await h.signal('errorRate', {
        environment: 'production',
        rate: 0.5,
        baseline: 0.01,
        requestCount: 5000,
        observedAt: now,
      });
      const refused = await state(h);
      assert.equal(refused.stage, 'canary');
      assert.match(refused.refusals.at(-1)?.reason ?? '', /^rate: rate-only samples .* send counts instead/);
      // A breach judged by the carried monitor: the canary's readiness was recorded two runs ago.
      await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'breach');
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
      assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
      assert.deepEqual(
        rig.deployer.operations.map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'deployCanary:production', 'restore:production', 'restore:staging'],
      );
      const s = await state(h);
      assert.deepEqual(s.rollback?.steps, ['restore production', 'restore staging']);
      assert.deepEqual(s.deployed, []);
      await assertBoundedRuns(h, 3);
      await assertSlotReleased(rig);
    });
  });

  test('airlock status of a continued run: the state query, and with no worker the state the new run reported', async () => {
    const rig = createRig(env);
    const h = await rig.run(async () => {
      const h = await rig.start({}, { historyLimit: LIMIT });
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await floodUntilContinued(h, LIMIT);
      const live = await readPromotion(env.client, h.workflowId);
      assert.deepEqual([live.source, live.state.stage, live.state.deployed], ['query', 'baking', ['staging']]);
      return h;
    });
    try {
      const view = await readPromotion(env.client, h.workflowId, { queryTimeoutMs: 1_000 });
      assert.deepEqual([view.source, view.executionStatus], ['history', 'RUNNING']);
      assert.deepEqual([view.state.stage, view.state.deployed], ['baking', ['staging']]);
      assert.match(view.notice ?? '', /no worker answered/);
    } finally {
      await h.terminate('end of test');
    }
  });

  test('a failed rollback waiting for a human continues as new and still holds the slot until a signed resolve', async () => {
    const rig = createRig(env, {
      deployer: { fault: (op) => (op === 'restore' ? new Error('HTTP 503 from the API server') : undefined) },
    });
    await rig.run(async () => {
      const h = await rig.start({}, { historyLimit: LIMIT });
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await h.signal('abort', { by: 'alice', reason: 'wrong change' });
      for (let i = 0; i < 100 && (await state(h)).stage !== 'awaiting_resolution'; i++) await env.sleep('5 minutes');
      await floodUntilContinued(h, LIMIT);
      const s = await state(h);
      assert.equal(s.stage, 'awaiting_resolution');
      assert.equal(s.outcome, 'rollback_failed');
      assert.deepEqual(s.deployed, ['staging']);
      const slots = (await env.client.workflow.getHandle(rig.slotWorkflowId).query('slots')) as {
        holders: Array<{ workflowId: string }>;
      };
      assert.deepEqual(
        slots.holders.map((x) => x.workflowId),
        [h.workflowId],
      );
      const note = 'restored staging by hand';
      const binding = await bindingOfPromotion(h);
      const resolve = signedRequest('resolve', {
        ...(binding ? { binding } : {}),
        workflowId: h.workflowId,
        approver: 'bob',
        text: note,
        secretKey: testSecretKey('bob'),
        now: await env.currentTimeMs(),
      });
      await h.executeUpdate(resolveUpdate, { args: [resolve] });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rollback_failed');
      assert.equal((await state(h)).resolution?.by, 'bob');
      await assertBoundedRuns(h, 2);
      await assertSlotReleased(rig);
    });
  });
});
