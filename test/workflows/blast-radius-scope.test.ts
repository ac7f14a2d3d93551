// blastRadius.scope `production`: bakes of different services overlap, the slot covers canary
// through production watch, and a service still has one promotion from staging to its end.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import {
  createRig,
  feed,
  sendSample,
  HEALTHY,
  slotWhenReleased,
  state,
  timeSkippingEnv,
  untilStage,
  waitFor,
} from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { floodUntilContinued, runHistories } from '../helpers/runs';
import {
  abortUpdate,
  approveUpdate,
  compensationWorkflowId,
  slotStateQuery,
  type PromotionResult,
} from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** Server times (ms) of an activity's scheduled and completed events, from the workflow's history. */
async function activityTimes(
  h: WorkflowHandle,
  activity: string,
): Promise<{ scheduled: number[]; completed: number[] }> {
  const events = (await h.fetchHistory()).events ?? [];
  const ids = new Set<string>();
  const scheduled: number[] = [];
  const completed: number[] = [];
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === activity) {
      ids.add(String(e.eventId));
      scheduled.push(ms(e.eventTime));
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && ids.has(String(done.scheduledEventId))) completed.push(ms(e.eventTime));
  }
  return { scheduled, completed };
}

type State = Awaited<ReturnType<typeof state>>;

/**
 * Feeds every open promotion healthy samples (20-minute steps) and two approvals when it asks for
 * them (unless `approve` says no), until `stop` holds or all have ended.
 */
async function drive(
  hs: WorkflowHandle[],
  o: { onStep?: (states: State[]) => void; stop?: (states: State[]) => boolean; approve?: (i: number) => boolean } = {},
): Promise<State[]> {
  for (let i = 0; i < 600; i++) {
    const states = await Promise.all(hs.map((h) => state(h)));
    o.onStep?.(states);
    if (states.every((s) => s.stage === 'ended') || o.stop?.(states)) return states;
    for (const [j, s] of states.entries()) {
      if (s.stage === 'ended') continue;
      if (s.stage === 'awaiting_approval' && s.approvals.length === 0 && (o.approve?.(j) ?? true))
        for (const who of ['alice', 'bob'])
          await hs[j].executeUpdate(approveUpdate, { args: [await signedApproval(env, hs[j], who)] });
      if (s.deployed.length)
        await sendSample(env, hs[j], {
          environment: s.deployed.includes('production') ? 'production' : 'staging',
          ...HEALTHY,
        });
    }
    await env.sleep('20 minutes');
  }
  throw new Error('drive: the promotions never ended');
}

describe('blast-radius scope production', () => {
  test('two services bake at once, but their canaries through production watch never overlap', async () => {
    const rig = createRig(env, { policy: { maxServicesInFlight: 1, blastRadiusScope: 'production' } });
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      const b = await rig.start({ service: 'payment-service' });
      let bothBaking = false;
      let queuedForProduction = false;
      const ended = await drive([a, b], {
        onStep: (ss) => {
          if (ss.every((s) => s.stage === 'baking')) bothBaking = true;
          if (ss.some((s) => s.stage === 'queued_for_production')) queuedForProduction = true;
        },
      });
      assert.deepEqual(
        ended.map((s) => s.outcome),
        ['promoted', 'promoted'],
      );
      assert.ok(bothBaking, 'both services baked at the same time');
      assert.ok(queuedForProduction, 'one waited for the production slot');
      assert.ok(ended.every((s) => s.blastRadiusScope === 'production' && s.productionSlotAt));
      // From the server's histories: both staging deploys ended before either canary started, and
      // each exposure (canary deploy scheduled .. slot release, after the production watch) is disjoint.
      const windows = [];
      for (const h of [a, b]) {
        const stagingDone = (await activityTimes(h, 'deployToEnvironment')).completed;
        const canary = (await activityTimes(h, 'deployCanary')).scheduled;
        const rollout = (await activityTimes(h, 'promoteCanary')).completed;
        const release = (await activityTimes(h, 'releaseSlot')).scheduled;
        assert.equal(stagingDone.length, 1);
        assert.equal(canary.length, 1);
        assert.equal(release.length, 1);
        assert.ok(rollout[0] < release[0], 'released after the rollout and its watch');
        windows.push({ staged: stagingDone[0], from: canary[0], to: release[0] });
      }
      const [wa, wb] = windows;
      assert.ok(Math.max(wa.staged, wb.staged) < Math.min(wa.from, wb.from), 'the bakes overlapped');
      assert.ok(wa.to <= wb.from || wb.to <= wa.from, `exposures overlap: ${JSON.stringify(windows)}`);
      assert.deepEqual((await slotWhenReleased(env, rig.slotWorkflowId)).holders, []);
    });
  });

  test('a second promotion of the same service does not deploy staging until the first has ended', async () => {
    const rig = createRig(env, { policy: { maxServicesInFlight: 3, blastRadiusScope: 'production' } });
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      const a2 = await rig.start({ service: 'search-service', version: 'v3' });
      await waitFor(
        () => state(a2),
        (s) => s.queuePosition === 1,
        'a2 queued for the lease',
      );
      const slots = () => rig.client.workflow.getHandle(rig.slotWorkflowId).query(slotStateQuery);
      assert.deepEqual(
        (await slots()).holders.map((h) => [h.workflowId, h.lease]),
        [[a.workflowId, true]],
      );
      // a bakes past the point it asks for the production slot and holds it; a2 never deploys.
      await feed(env, a, { stop: untilStage('canary'), stepMinutes: 20 });
      assert.equal((await state(a2)).stage, 'queued');
      assert.ok(rig.deployer.operations.some((o) => o.version === 'v2' && o.environment === 'production'));
      assert.deepEqual(
        rig.deployer.operations.filter((o) => o.version === 'v3'),
        [],
      );
      await a.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'make room' }] });
      assert.equal(((await a.result()) as PromotionResult).outcome, 'aborted');
      const s2 = await waitFor(
        () => state(a2),
        (s) => s.stage === 'baking',
        'a2 baking',
      );
      const endedA = (await state(a)).endedAt!;
      assert.ok(Date.parse(s2.stagingReadyAt!) >= Date.parse(endedA));
      const staged = (await activityTimes(a2, 'deployToEnvironment')).scheduled;
      assert.ok(staged[0] >= Date.parse(endedA), 'a2 deployed staging only after a ended');
      await a2.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'end of test' }] });
      assert.equal(((await a2.result()) as PromotionResult).outcome, 'aborted');
      await waitFor(slots, (s) => s.holders.length === 0 && s.queue.length === 0, 'slot released');
    });
  });

  test('a promotion continued as new while queued for the production slot resumes there, keeps its lease, and is promoted', async () => {
    const rig = createRig(env, { policy: { maxServicesInFlight: 1, blastRadiusScope: 'production' } });
    await rig.run(async () => {
      const x = await rig.start({ service: 'search-service' }, { historyLimit: 400 });
      const y = await rig.start({ service: 'payment-service' }, { historyLimit: 400 });
      // Both bake; the first to ask takes the production slot and waits for approvals, the other queues.
      const [sx] = await drive([x, y], {
        approve: () => false,
        stop: (ss) =>
          ss.some((s) => s.stage === 'awaiting_approval') && ss.some((s) => s.stage === 'queued_for_production'),
      });
      const [a, b] = sx.stage === 'awaiting_approval' ? [x, y] : [y, x];
      assert.equal((await state(b)).blastRadiusScope, 'production');
      await floodUntilContinued(b);
      const resumed = await state(b);
      assert.equal(resumed.stage, 'queued_for_production');
      const slots = () => rig.client.workflow.getHandle(rig.slotWorkflowId).query(slotStateQuery);
      // a holds the slot, b still only its lease (continue-as-new released nothing).
      const held = (await slots()).holders;
      assert.deepEqual(
        [a, b].map((h) => held.find((x) => x.workflowId === h.workflowId)?.lease),
        [undefined, true],
      );
      assert.equal(held.length, 2);
      await a.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'make room' }] });
      assert.equal(((await a.result()) as PromotionResult).outcome, 'aborted');
      const [ended] = await drive([b]);
      assert.equal(ended.outcome, 'promoted');
      assert.ok(Date.parse(ended.productionSlotAt!) >= Date.parse((await state(a)).endedAt!));
      const runs = await runHistories(rig.client, b.workflowId);
      assert.ok(runs.length >= 2, `${runs.length} runs`);
      const events = runs.flatMap((r) => r.history.events ?? []);
      const count = (name: string) =>
        events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
      assert.equal(count('deployToEnvironment'), 1, 'staging deployed once across the runs');
      assert.equal(count('deployCanary'), 1);
      assert.equal(count('releaseSlot'), 1, 'only the run that ended released');
      await waitFor(slots, (s) => s.holders.length === 0 && s.queue.length === 0, 'slot released');
    });
  });

  test('a lease holder terminated during the bake is compensated by the reaper; the next change of its service waits for that', async () => {
    const rig = createRig(env, { policy: { maxServicesInFlight: 1, blastRadiusScope: 'production' } });
    await rig.run(async () => {
      const a = await rig.start({ service: 'search-service' });
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      const a2 = await rig.start({ service: 'search-service', version: 'v3' });
      await waitFor(
        () => state(a2),
        (s) => s.queuePosition === 1,
        'a2 queued for the lease',
      );
      await a.terminate('operator pulled the plug');
      const comp = env.client.workflow.getHandle(compensationWorkflowId(a.workflowId));
      for (let i = 0; ; i++) {
        const found = await comp.describe().then(
          () => true,
          (err) => {
            if (err instanceof WorkflowNotFoundError) return false;
            throw err;
          },
        );
        if (found) break;
        assert.ok(i < 15, 'no compensation after 15 minutes');
        await env.sleep('1 minute');
      }
      const r = (await comp.result()) as { restored: string[]; outcome: string };
      assert.deepEqual(r.restored, ['restore staging']);
      const compEnded = (await comp.describe()).closeTime!.getTime();
      const s2 = await waitFor(
        () => state(a2),
        (s) => s.stage === 'baking',
        'a2 baking',
      );
      const staged = (await activityTimes(a2, 'deployToEnvironment')).scheduled;
      assert.ok(staged[0] >= compEnded, 'a2 deployed staging only after the compensation ended');
      assert.ok(Date.parse(s2.stagingReadyAt!) >= compEnded);
      // The compensation restored staging before the next change of the service was deployed there.
      const ops = rig.deployer.operations;
      assert.deepEqual(
        ops.slice(0, 3).map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'restore:staging', 'deploy:staging'],
      );
      assert.deepEqual([ops[0].version, ops[2].version], ['v2', 'v3']);
      await a2.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'end of test' }] });
      assert.equal(((await a2.result()) as PromotionResult).outcome, 'aborted');
      const slots = () => rig.client.workflow.getHandle(rig.slotWorkflowId).query(slotStateQuery);
      await waitFor(slots, (s) => s.holders.length === 0 && s.queue.length === 0, 'slot released');
    });
  });
});
