// Release trains, trains.whileInFlight `restart` on real Temporal (issue 17, item 2): a merge of a
// service whose promotion bakes or waits for approval restarts that promotion with the combined
// change. The bake starts again from the new staging readiness (never shortened), the canary leaves
// production, approvals of the old diff are void, the later merge's promotion ends `superseded`,
// and whatever ends the restarted promotion restores both environments to before the first commit.
import { afterEach, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import {
  createRig,
  feed,
  state,
  timeSkippingEnv,
  untilStage,
  updateRefusal,
  waitFor,
  type Rig,
} from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { renderStatus } from '../../src/client/render-status';
import type { Finding } from '../../src/policy/engine/finding';
import {
  abortUpdate,
  approveUpdate,
  restartUpdate,
  type Change,
  type PromotionResult,
  type PromotionState,
} from '../../src/workflows/messages';

// A server per test: a promotion's outstanding activity when a test ends would stall time skipping for the next.
let env: TestWorkflowEnvironment;
beforeEach(async () => {
  env = await timeSkippingEnv();
});
afterEach(async () => {
  await env?.teardown();
});

const SERVICE = 'notification-service';
const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };
const HOUR = 3600_000;
const sha = (c: string) => c.repeat(40).slice(0, 40);
const RESTART = { extra: 'trains: { whileInFlight: restart }' };
const abort = (h: WorkflowHandle, reason: string) => h.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason }] });
const ops = (rig: Rig) =>
  rig.deployer.operations
    .filter((o) => o.service === SERVICE)
    .map((o) => `${o.op}:${o.environment}:${o.version ?? ''}`);

const first: Partial<Change> = {
  commit: sha('a'),
  baseCommit: sha('0'),
  author: 'airlock-agent[bot]',
  authors: ['airlock-agent[bot]', 'carol'],
  title: 'raise replicas',
  version: 'v2',
};
const second: Partial<Change> = {
  commit: sha('b'),
  baseCommit: sha('a'),
  author: 'airlock-agent[bot]',
  authors: ['airlock-agent[bot]', 'dave'],
  title: 'new image',
  version: 'v3',
};

/** The later merge ends superseded by `carrier`; the carrier's restart is recorded once it is done. */
async function restartedBy(carrier: WorkflowHandle, later: WorkflowHandle): Promise<PromotionState> {
  const r = (await later.result()) as PromotionResult;
  assert.equal(r.outcome, 'superseded');
  assert.equal(r.supersededBy, carrier.workflowId);
  const s = await waitFor(
    () => state(carrier),
    (s) => s.stage === 'ended' || (s.stage === 'baking' && (s.restarts?.length ?? 0) === 1),
    'carrier baking again after its restart',
  );
  assert.equal(s.stage, 'baking', `ended ${s.outcome}: ${JSON.stringify(s.interruption)}`);
  return s;
}

describe('release trains: whileInFlight restart', () => {
  test('a merge during the bake: staging gets the combined change, the full bake starts again, both authors excluded', async () => {
    const rig = createRig(env, { policy: RESTART });
    await rig.run(async () => {
      const a = await rig.start(first);
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      const firstReadyAt = Date.parse((await state(a)).stagingReadyAt!);
      await feed(env, a, { stop: (s) => Date.parse(s.now) - firstReadyAt >= 6 * HOUR });

      // A forged request names no running promotion of this service: refused, nothing changes.
      assert.match(
        await updateRefusal(a.executeUpdate(restartUpdate, { args: [{ by: 'promotion-forged' }] })),
        /promotion-forged is not a running promotion/,
      );
      assert.match(
        await updateRefusal(a.executeUpdate(restartUpdate, { args: [{ by: a.workflowId }] })),
        /cannot restart itself/,
      );
      assert.equal((await state(a)).restarts, undefined);

      const b = await rig.start(second);
      const s = await restartedBy(a, b);
      const restartedAt = Date.parse(s.restarts![0]!.at);
      assert.ok(restartedAt - firstReadyAt >= 6 * HOUR);
      assert.deepEqual(
        s.train?.map((t) => [t.commit, t.workflowId]),
        [
          [sha('a'), a.workflowId],
          [sha('b'), b.workflowId],
        ],
      );
      assert.deepEqual([s.change.baseCommit, s.change.commit, s.change.version], [sha('0'), sha('b'), 'v3']);
      assert.deepEqual([...s.change.authors!].sort(), ['airlock-agent[bot]', 'carol', 'dave']);
      assert.deepEqual(
        [s.restarts![0]!.fromStage, s.restarts![0]!.canaryRestored, s.restarts![0]!.approvalsVoided],
        ['baking', false, []],
      );
      // The bake is measured from the new readiness, in full: six hours already baked count for nothing.
      const readyAt = Date.parse(s.stagingReadyAt!);
      assert.ok(readyAt >= restartedAt, 'readiness after the restart');
      assert.equal(Date.parse(s.bakeEndsAt!) - readyAt, 24 * HOUR);
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging').stable?.version, 'v3');
      assert.match(renderStatus(s), /RESTART {2}.* from baking with bbbbbbbbbbbb .*bake started again/);

      const c = await feed(env, a, { stop: untilStage('awaiting_approval') });
      assert.ok(Date.parse(c.canaryStartedAt!) >= Date.parse(s.bakeEndsAt!), 'no canary before the new bake ended');
      for (const author of ['carol', 'dave'])
        assert.match(
          await updateRefusal(a.executeUpdate(approveUpdate, { args: [await signedApproval(env, a, author)] })),
          new RegExp(author),
        );
      await a.executeUpdate(approveUpdate, { args: [await signedApproval(env, a, 'alice')] });
      await a.executeUpdate(approveUpdate, { args: [await signedApproval(env, a, 'bob')] });
      await feed(env, a, { stop: untilStage('ended') });
      const r = (await a.result()) as PromotionResult;
      assert.equal(r.outcome, 'promoted');
      assert.equal(rig.deployer.view(SERVICE, 'production').stable?.version, 'v3');
      // One staging snapshot (before v2), v3 over v2 in staging, and v2 never reached production.
      assert.deepEqual(ops(rig), [
        'deploy:staging:v2',
        'deploy:staging:v3',
        'deployCanary:production:v3',
        'promote:production:v3',
      ]);
    });
  });

  test('a merge while approval is asked: the canary leaves production, approvals are void, an abort restores both environments to before the first commit', async () => {
    const rig = createRig(env, { policy: RESTART });
    await rig.run(async () => {
      const a = await rig.start(first);
      await feed(env, a, { stop: untilStage('awaiting_approval') });
      const alice = await signedApproval(env, a, 'alice');
      await a.executeUpdate(approveUpdate, { args: [alice] });
      assert.equal(rig.deployer.view(SERVICE, 'production').canary?.version, 'v2');

      const b = await rig.start(second);
      const s = await restartedBy(a, b);
      assert.deepEqual(
        [s.restarts![0]!.fromStage, s.restarts![0]!.canaryRestored, s.restarts![0]!.approvalsVoided],
        ['awaiting_approval', true, ['alice']],
      );
      assert.deepEqual(s.approvals, []);
      assert.deepEqual(s.approvalsVoided?.at(-1)?.approvers, ['alice']);
      assert.deepEqual(s.deployed, ['staging']);
      assert.equal(s.canaryStartedAt, undefined);
      // Production is exactly as before the canary; staging runs the combined change.
      assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
      assert.equal(rig.deployer.view(SERVICE, 'staging').stable?.version, 'v3');
      // Alice's approval of the old diff does not count again.
      await assert.rejects(a.executeUpdate(approveUpdate, { args: [alice] }));

      await abort(a, 'wrong change');
      const r = (await a.result()) as PromotionResult;
      assert.equal(r.outcome, 'aborted');
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
      assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
      assert.deepEqual(ops(rig), [
        'deploy:staging:v2',
        'deployCanary:production:v2',
        'restore:production:initial',
        'deploy:staging:v3',
        'restore:staging:initial',
      ]);
    });
  });

  test('the gate blocks the combined change: the restarted promotion ends blocked with staging restored to before the first commit', async () => {
    const blocked: Finding = { rule: 'forbidden-path', level: 'block', file: 'k8s/x.yaml', message: 'forbidden' };
    const rig = createRig(env, {
      policy: RESTART,
      deps: { checkChange: async (_p, change) => (change.commit === sha('b') ? [blocked] : []) },
    });
    await rig.run(async () => {
      const a = await rig.start(first);
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      const b = await rig.start(second);
      assert.equal(((await b.result()) as PromotionResult).supersededBy, a.workflowId);
      const r = (await a.result()) as PromotionResult;
      assert.equal(r.outcome, 'blocked');
      assert.deepEqual(r.interruption, { kind: 'train_blocked', commit: sha('b'), blocking: ['forbidden-path'] });
      assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
      assert.deepEqual(ops(rig), ['deploy:staging:v2', 'restore:staging:initial']);
    });
  });

  test('a merge during the rollout is not a restart: it queues behind the rollout, which goes on', async () => {
    const rig = createRig(env, { policy: RESTART });
    await rig.run(async () => {
      const a = await rig.start(first);
      await feed(env, a, { stop: untilStage('awaiting_approval') });
      await a.executeUpdate(approveUpdate, { args: [await signedApproval(env, a, 'alice')] });
      await a.executeUpdate(approveUpdate, { args: [await signedApproval(env, a, 'bob')] });
      await waitFor(
        () => state(a),
        (s) => s.stage === 'production',
        'rolling out',
      );
      const b = await rig.start(second);
      const sb = await waitFor(
        () => state(b),
        (s) => s.stage === 'queued',
        'b queued behind the rollout',
      );
      assert.match(sb.refusals.at(-1)?.reason ?? '', /did not restart with this change: .*stage production/);
      await feed(env, a, { stop: untilStage('ended') });
      assert.equal(((await a.result()) as PromotionResult).outcome, 'promoted');
      assert.equal((await state(a)).restarts, undefined);
      await abort(b, 'end of test');
      await b.result();
    });
  });
});
