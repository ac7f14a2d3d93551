// Every path of the stage machine on the Java time-skipping server, with the real 24 h bake.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import {
  createRig,
  atRate,
  feed,
  HEALTHY,
  NO_TRAFFIC,
  sendSample,
  slotWhenReleased,
  state,
  timeSkippingEnv,
  untilStage,
  type Rig,
} from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { abortUpdate, approveUpdate, type PromotionResult, type PromotionState } from '../../src/workflows/messages';
import { HOUR_MS } from '../../src/common/durations';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

// Half of 10,000 requests failing beside a 1 % baseline: fifty times the baseline, breached by the
// sequential test on this one interval whatever healthy evidence came before (the fast path).
const BREACH = atRate(0.5);

function assertRestored(rig: Rig, service = 'notification-service') {
  assert.deepEqual(rig.deployer.view(service, 'staging'), {
    stable: { version: 'initial', replicas: 4 },
    canary: null,
  });
  assert.deepEqual(rig.deployer.view(service, 'production'), {
    stable: { version: 'initial', replicas: 4 },
    canary: null,
  });
}

async function approveBoth(h: WorkflowHandle) {
  await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
  await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
}

const atStage = (stage: PromotionState['stage']) => untilStage(stage);

describe('promotion on the time-skipping server', () => {
  test('promoted: gate, staging, a full 24 h bake from readiness, canary, two approvals, production', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      const baking = await feed(env, h, { stop: atStage('baking'), stepMinutes: 1 });
      assert.equal(baking.shortBake, false);
      assert.equal(Date.parse(baking.bakeEndsAt!) - Date.parse(baking.stagingReadyAt!), 24 * HOUR_MS);
      const asking = await feed(env, h, { stop: atStage('awaiting_approval') });
      // Canary only after the whole bake; approval only after the whole canary watch.
      assert.ok(Date.parse(asking.canaryStartedAt!) >= Date.parse(baking.bakeEndsAt!));
      assert.ok(Date.parse(asking.approvalRequestedAt!) >= Date.parse(asking.canaryWatchEndsAt!));
      assert.deepEqual(rig.deployer.view('notification-service', 'production').canary, { version: 'v2', replicas: 1 });
      await approveBoth(h);
      await feed(env, h, { stop: () => false });
      const result: PromotionResult = await h.result();
      assert.equal(result.outcome, 'promoted');
      assert.deepEqual(
        result.approvals.map((a) => a.approver),
        ['alice', 'bob'],
      );
      assert.match(result.policyHash!, /^[0-9a-f]{64}$/);
      assert.deepEqual(rig.deployer.view('notification-service', 'production'), {
        stable: { version: 'v2', replicas: 4 },
        canary: null,
      });
      assert.deepEqual(
        rig.deployer.operations.map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'deployCanary:production', 'promote:production'],
      );
      const stages = [...new Set(rig.reports.map((r) => r.stage))];
      assert.deepEqual(stages, [
        'policy_gate',
        'queued',
        'staging',
        'baking',
        'canary',
        'awaiting_approval',
        'production',
        'ended',
      ]);
    });
  });

  test('blocked: a block finding ends the promotion before anything is deployed', async () => {
    // Not waivable (checks.waivable): blocked at once, no wait for waivers (test/workflows/waivers.test.ts).
    const rig = createRig(env, {
      deps: {
        checkChange: async () => [
          { rule: 'forbidden-path', level: 'block', file: 'k8s/x.yaml', line: 3, message: 'k8s/x.yaml is forbidden' },
        ],
      },
    });
    await rig.run(async () => {
      const h = await rig.start();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'blocked');
      assert.equal(r.findings[0].rule, 'forbidden-path');
      assert.equal(r.interruption, undefined, 'blocked by the gate itself, not by a waiver deadline');
      assert.deepEqual(rig.deployer.operations, []);
    });
  });

  test('warn findings travel with the change into the approval request', async () => {
    const rig = createRig(env, {
      policy: { bakeHours: 1 },
      deps: { checkChange: async () => [{ rule: 'database', level: 'warn', message: 'touches a database' }] },
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('awaiting_approval') });
      const asked = rig.reports.find((r) => r.stage === 'awaiting_approval')!;
      assert.equal(asked.findings[0].rule, 'database');
      assert.equal(asked.shortBake, true);
      await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'test over' }] });
      assert.equal((await h.result()).outcome, 'aborted');
    });
  });

  for (const [stage, env_] of [
    ['baking', 'staging'],
    ['canary', 'production'],
    ['awaiting_approval', 'production'],
    ['production', 'production'],
  ] as const) {
    test(`rolled_back: breach during ${stage} restores everything deployed, newest first`, async () => {
      const rig = createRig(env);
      await rig.run(async () => {
        const h = await rig.start();
        await feed(env, h, { stop: atStage(stage === 'production' ? 'awaiting_approval' : stage), stepMinutes: 5 });
        if (stage === 'production') {
          await approveBoth(h);
          await feed(env, h, {
            stop: (s) => s.stage === 'production' && s.deployed.includes('production'),
            stepMinutes: 1,
            maxSteps: 3,
          }).catch(() => undefined);
        }
        await sendSample(env, h, { environment: env_, ...BREACH });
        const r: PromotionResult = await h.result();
        assert.equal(r.outcome, 'rolled_back');
        assert.equal(r.interruption?.kind, 'breach');
        if (r.interruption?.kind === 'breach') {
          // The watch's test so far: well over the threshold, with the statistic that decided it.
          assert.ok(r.interruption.risePercent > 5, `rise ${r.interruption.risePercent}`);
          assert.match(r.interruption.test ?? '', /likelihood ratio .* ≥ 1\/α/);
        }
        assertRestored(rig);
        const restores = rig.deployer.operations.filter((o) => o.op === 'restore').map((o) => o.environment);
        assert.deepEqual(restores, env_ === 'staging' ? ['staging'] : ['production', 'staging']);
      });
    });
  }

  test('a breach observed during the canary still rolls back when it arrives after the full rollout', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('awaiting_approval') });
      const seenDuringCanary = new Date(await env.currentTimeMs()).toISOString();
      await approveBoth(h);
      await feed(env, h, {
        stop: () => rig.deployer.view('notification-service', 'production').stable?.version === 'v2',
        stepMinutes: 1,
        maxSteps: 20,
      });
      await feed(env, h, { stop: () => false, stepMinutes: 1, maxSteps: 2 }).catch(() => undefined); // the production watch is under way
      // The metrics pipeline delivers late: observed on the canary, received in the production watch.
      await sendSample(env, h, {
        environment: 'production',
        ...BREACH,
        observedAt: seenDuringCanary,
      });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind === 'breach' && r.interruption.sample.observedAt, seenDuringCanary);
      assertRestored(rig);
    });
  });

  test('breach threshold: a version at exactly +5 % is healthy however much traffic shows it; an interval without requests is no evidence; a gross regression rolls back', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('baking'), stepMinutes: 1 });
      // The pre-deploy baseline came with the first sample: 1 % (HEALTHY's 100 in 10,000).
      const before = (await state(h)).errorRate.inconclusive;
      // 1.05 % over a million requests, twenty times: the threshold itself, never a breach.
      for (let i = 0; i < 20; i++)
        await sendSample(env, h, { environment: 'staging', ...HEALTHY, errors: 10_500, requests: 1_000_000 });
      await sendSample(env, h, { environment: 'staging', ...NO_TRAFFIC });
      let s = await state(h);
      assert.equal(s.stage, 'baking');
      assert.equal(s.errorRate.inconclusive, before + 1);
      assert.match(s.errorRate.tests?.staging ?? '', /ratio 1\.0[0-5]/);
      // 20 % errors over a million requests: rolled back, however long the healthy record before it.
      await sendSample(env, h, { environment: 'staging', ...HEALTHY, errors: 200_000, requests: 1_000_000 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'breach');
      s = await state(h);
      assert.equal(s.stage, 'ended');
    });
  });

  test('stale samples (observed before the change was ready) neither breach nor count as data', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('baking'), stepMinutes: 1 });
      await sendSample(env, h, {
        environment: 'staging',
        ...BREACH,
        observedAt: '2020-01-01T00:00:00Z',
      });
      const s = await state(h);
      assert.equal(s.stage, 'baking');
      assert.equal(s.errorRate.stale, 1);
      await h.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'done' }] });
      await h.result();
    });
  });

  test('silence fails closed: no conclusive sample for maxSilenceMinutes during the bake rolls back', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('baking'), stepMinutes: 1 });
      // Only samples without requests from here on: no evidence, they must not keep the watch alive.
      await feed(env, h, { stop: () => false, counts: NO_TRAFFIC, stepMinutes: 10 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'silence');
      if (r.interruption?.kind === 'silence') {
        assert.equal(r.interruption.environment, 'staging');
        assert.ok(r.interruption.silentMinutes >= 60);
      }
      assertRestored(rig);
    });
  });

  test('rejected: a reject by an allowed approver rolls back the canary and staging', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('awaiting_approval') });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.signal('reject', { approver: 'bob', reason: 'canary logs look wrong' });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rejected');
      assert.deepEqual(r.interruption, { kind: 'rejected', by: 'bob', reason: 'canary logs look wrong' });
      assertRestored(rig);
    });
  });

  test('timed_out: no second approval within approval.timeoutHours rolls back', async () => {
    const rig = createRig(env, { policy: { approvalTimeoutHours: 4 } });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('awaiting_approval') });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await feed(env, h, { stop: () => false, stepMinutes: 30 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'timed_out');
      assert.deepEqual(r.interruption, { kind: 'approval_timeout', hours: 4 });
      assertRestored(rig);
    });
  });

  for (const stage of ['baking', 'canary', 'awaiting_approval'] as const) {
    test(`aborted during ${stage}: rolls back what is deployed`, async () => {
      const rig = createRig(env);
      await rig.run(async () => {
        const h = await rig.start();
        await feed(env, h, { stop: atStage(stage), stepMinutes: stage === 'baking' ? 1 : 20 });
        await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'pager says stop' }] });
        const r: PromotionResult = await h.result();
        assert.equal(r.outcome, 'aborted');
        assert.deepEqual(r.interruption, { kind: 'aborted', by: 'carol', reason: 'pager says stop' });
        assertRestored(rig);
      });
    });
  }

  test('aborted during the staging deploy: the deploy is cancelled and has ended before the restore starts (no race)', async () => {
    const rig = createRig(env, { deployer: { rolloutMs: 1500 } });
    await rig.run(async () => {
      const h = await rig.start();
      // Wait for the deploy itself to be in flight: stage `staging` starts with the snapshot, and an
      // abort during the snapshot rightly deploys nothing (what the fresh-clone run once hit).
      while (!rig.deployer.operations.some((o) => o.op === 'deploy')) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await state(h)).stage, 'staging');
      await h.signal('abort', { by: 'alice', reason: 'wrong change' });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'aborted');
      assertRestored(rig);
      assert.deepEqual(
        rig.deployer.operations.map((o) => o.op),
        ['deploy', 'restore'],
      );
    });
  });

  test('aborted during the production watch: production and staging restored', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('awaiting_approval') });
      await approveBoth(h);
      await feed(env, h, { stop: (s) => s.stage === 'production', stepMinutes: 1 });
      await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'saw something' }] });
      assert.equal(((await h.result()) as PromotionResult).outcome, 'aborted');
      assertRestored(rig);
    });
  });

  test('cancelling the workflow (Web UI / CLI) is an abort: rollback and slot release still happen', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atStage('baking'), stepMinutes: 1 });
      await h.cancel();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'aborted');
      assertRestored(rig);
      assert.deepEqual((await slotWhenReleased(env, rig.slotWorkflowId)).holders, []);
    });
  });

  test('failed: a deploy that cannot succeed rolls back and ends failed with the reason', async () => {
    const rig = createRig(env, {
      deployer: {
        fault: (op) =>
          op === 'deployCanary' ? Object.assign(new Error('admission webhook denied the canary'), {}) : undefined,
      },
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: (s) => s.stage === 'canary' || s.stage === 'rolling_back', stepMinutes: 20 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.interruption?.kind, 'deploy_failed');
      assert.match(JSON.stringify(r.interruption), /admission webhook denied/);
      assertRestored(rig);
    });
  });

  test('duplicate start: the same service + commit returns the existing run and starts nothing new', async () => {
    const rig = createRig(env, { policy: { bakeHours: 1 } });
    await rig.run(async () => {
      const h = await rig.start({ commit: 'a'.repeat(40) });
      const again = await rig.start({ commit: 'a'.repeat(40) });
      assert.equal(again.workflowId, h.workflowId);
      const d1 = await h.describe();
      const d2 = await again.describe();
      assert.equal(d1.runId, d2.runId);
      await h
        .executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'done' }] })
        .catch(() => h.signal('abort', { by: 'alice', reason: 'done' }));
      await h.result();
    });
  });
});
