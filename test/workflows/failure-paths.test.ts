// The paths around the happy path (issue 12): an activity failing anywhere, a stop accepted while
// an activity runs, a restore that cannot finish. Each must end with the environments exact (or say
// loudly what is left) and the slot released. Time-skipping server, real 24 h bake.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  createRig,
  feed,
  sendSample,
  slotWhenReleased,
  state,
  testPolicyYaml,
  timeSkippingEnv,
  untilStage,
  waitFor,
  type Rig,
  atRate,
} from '../helpers/harness';
import { bindingOfPromotion, signedApproval, testSecretKey } from '../helpers/approver-keys';
import { signedRequest } from '../../src/approvals/signed-request';
import { parsePolicy } from '../../src/policy/config/load';
import { DeployRejectedError, type Deployer } from '../../src/integrations/deployer';
import type { SimulatedDeployer } from '../../src/integrations/simulation/simulated-deployer';
import { approveUpdate, resolveUpdate, type PromotionResult, type PromotionState } from '../../src/workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SERVICE = 'notification-service';
const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };

function assertRestored(rig: Rig) {
  assert.deepEqual(rig.deployer.view(SERVICE, 'staging'), INITIAL);
  assert.deepEqual(rig.deployer.view(SERVICE, 'production'), INITIAL);
}

async function assertSlotReleased(rig: Rig) {
  assert.deepEqual((await slotWhenReleased(env, rig.slotWorkflowId)).holders, []);
}

/** An Update refusal: the workflow's reason is the cause of WorkflowUpdateFailedError. */
const refusedWith = (re: RegExp) => (err: unknown) => {
  assert.match(String((err as { cause?: Error }).cause?.message), re);
  return true;
};

/** The simulated deployer with one method replaced; everything else (and the model) is the original. */
function overriding(d: SimulatedDeployer, methods: Partial<Deployer>): Deployer {
  return {
    kind: d.kind,
    snapshot: methods.snapshot ?? d.snapshot.bind(d),
    deploy: methods.deploy ?? d.deploy.bind(d),
    deployCanary: methods.deployCanary ?? d.deployCanary.bind(d),
    promote: methods.promote ?? d.promote.bind(d),
    restore: methods.restore ?? d.restore.bind(d),
  };
}

describe('failure paths compensate', () => {
  test('a policy file broken during the bake: the freeze check fails, staging is restored, the slot released', async () => {
    let broken = false;
    const rig = createRig(env, {
      deps: {
        // The worker re-reads its policy file for the freeze check; an edit broke it meanwhile.
        loadPolicy: () =>
          broken
            ? parsePolicy('version: 1\nbake: [not, a, mapping\n', 'test-policy')
            : parsePolicy(testPolicyYaml(), 'test-policy'),
      },
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 20 });
      broken = true;
      await feed(env, h, { stop: () => false, stepMinutes: 20, maxSteps: 200 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.interruption?.kind, 'activity_failed');
      assert.equal(r.interruption?.kind === 'activity_failed' && r.interruption.activity, 'deployWaitMs');
      assertRestored(rig);
      assert.deepEqual(
        rig.deployer.operations.map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'restore:staging'],
      );
      await assertSlotReleased(rig);
    });
  });

  test('the production snapshot refused (403): no canary, staging restored, outcome failed naming the activity', async () => {
    const rig = createRig(env, {
      wrapDeployer: (d) =>
        overriding(d, {
          snapshot: async (service, environment) => {
            if (environment === 'production')
              throw new DeployRejectedError('kubernetes: 403 Forbidden: deployments.apps');
            return d.snapshot(service, environment);
          },
        }),
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: () => false, stepMinutes: 20, maxSteps: 200 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.interruption?.kind === 'activity_failed' && r.interruption.activity, 'snapshotEnvironment');
      assert.match(JSON.stringify(r.interruption), /403 Forbidden/);
      assertRestored(rig);
      assert.ok(!rig.deployer.operations.some((o) => o.op === 'deployCanary'));
      await assertSlotReleased(rig);
    });
  });

  test('the policy gate failing for good ends failed, nothing deployed, instead of failing the workflow', async () => {
    const rig = createRig(env, {
      deps: {
        checkChange: async () => {
          throw new Error('clone unreadable: fatal: bad object');
        },
      },
    });
    await rig.run(async () => {
      const h = await rig.start();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.interruption?.kind === 'activity_failed' && r.interruption.activity, 'evaluatePolicyGate');
      assert.deepEqual(rig.deployer.operations, []);
    });
  });

  describe('a stop sent while the policy gate runs is judged once the gate has decided', () => {
    /** A rig whose content checks wait until the test lets them go, so the gate is still running. */
    function gateHeld() {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const gate = { started: false, release };
      const rig = createRig(env, {
        deps: {
          checkChange: async () => {
            gate.started = true;
            await released;
            return [];
          },
        },
      });
      return { rig, gate };
    }
    const whileGateRuns = async (gate: { started: boolean }) => {
      for (let i = 0; i < 400 && !gate.started; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(gate.started, 'the policy gate is running');
    };

    test('a reject from an approver stops the promotion before anything is deployed', async () => {
      const { rig, gate } = gateHeld();
      await rig.run(async () => {
        const h = await rig.start();
        await whileGateRuns(gate);
        await h.signal('reject', { approver: 'alice', reason: 'not this change' });
        assert.equal((await state(h)).stage, 'policy_gate', 'the signal arrived while the gate ran');
        gate.release();
        const r: PromotionResult = await h.result();
        assert.equal(r.outcome, 'rejected');
        assert.deepEqual(r.interruption, { kind: 'rejected', by: 'alice', reason: 'not this change' });
        assert.deepEqual(rig.deployer.operations, [], 'nothing deployed after a stop accepted during the gate');
        await assertSlotReleased(rig);
      });
    });

    test('an abort Update from someone the policy does not allow is refused (to its caller) after the gate, and the change goes on', async () => {
      const { rig, gate } = gateHeld();
      await rig.run(async () => {
        const h = await rig.start();
        await whileGateRuns(gate);
        const refused = h.executeUpdate('abort', { args: [{ by: 'mallory', reason: 'mine now' }] });
        await new Promise((r) => setTimeout(r, 200));
        gate.release();
        await assert.rejects(refused, refusedWith(/mallory/));
        const s = await waitFor(() => state(h), untilStage('baking'), 'staging deployed and baking');
        assert.equal(s.interruption, undefined);
        await h.signal('abort', { by: 'alice', reason: 'end of test' });
        assert.equal(((await h.result()) as PromotionResult).outcome, 'aborted');
        assertRestored(rig);
      });
    });
  });

  test('an abort accepted while the production snapshot runs is honoured: the canary never starts', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding = false;
    const rig = createRig(env, {
      wrapDeployer: (d) =>
        overriding(d, {
          snapshot: async (service, environment) => {
            if (environment === 'production') {
              holding = true;
              await held;
            }
            return d.snapshot(service, environment);
          },
        }),
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: atCanaryStage, stepMinutes: 20, maxSteps: 200 });
      for (let i = 0; i < 200 && !holding; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(holding, 'the production snapshot is running');
      await h.signal('abort', { by: 'alice', reason: 'not now' });
      for (let i = 0; i < 200 && !(await state(h)).interruption; i++) await new Promise((r) => setTimeout(r, 50));
      release();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'aborted');
      assert.ok(!rig.deployer.operations.some((o) => o.op === 'deployCanary'), 'no canary after an accepted abort');
      assertRestored(rig);
      await assertSlotReleased(rig);
    });
  });

  test('a restore that keeps failing ends rollback_failed, says what is still deployed, and holds the slot until a signed resolve', async () => {
    const rig = createRig(env, {
      deployer: { fault: (op) => (op === 'restore' ? new Error('HTTP 503 from the API server') : undefined) },
    });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      await h.signal('abort', { by: 'alice', reason: 'wrong change' });
      // Restores retry with backoff for rollback.maxRetryMinutes (30 by default), then give up.
      for (let i = 0; i < 100 && (await state(h)).stage !== 'awaiting_resolution'; i++) await env.sleep('5 minutes');
      const s = await state(h);
      assert.equal(s.stage, 'awaiting_resolution');
      assert.equal(s.outcome, 'rollback_failed');
      assert.deepEqual(s.deployed, ['staging']);
      assert.match(s.rollback?.error ?? '', /restore staging: .*HTTP 503/);
      assert.equal(rig.deployer.view(SERVICE, 'staging').stable?.version, 'v2', 'the change is really still there');
      // The service keeps its slot: nothing else of it may start while the change may be live.
      const slots = (await env.client.workflow.getHandle(rig.slotWorkflowId).query('slots')) as {
        holders: Array<{ workflowId: string }>;
      };
      assert.deepEqual(
        slots.holders.map((x) => x.workflowId),
        [h.workflowId],
      );

      // Unsigned, forged (bob's name, carol's key) and author resolves are refused; nothing changes.
      const now = await env.currentTimeMs();
      const binding = await bindingOfPromotion(h);
      const note = 'restored staging by hand from the snapshot';
      await assert.rejects(
        h.executeUpdate(resolveUpdate, { args: [{ approver: 'alice', note, via: 'cli' }] }),
        refusedWith(/resolve: unsigned/),
      );
      const forged = signedRequest('resolve', {
        workflowId: h.workflowId,
        approver: 'bob',
        text: note,
        secretKey: testSecretKey('carol'),
        now,
        ...(binding ? { binding } : {}),
      });
      await assert.rejects(h.executeUpdate(resolveUpdate, { args: [forged] }), refusedWith(/forged or altered/));
      await assert.rejects(
        h.executeUpdate(resolveUpdate, { args: [{ approver: 'airlock-agent[bot]', note, via: 'cli' }] }),
        refusedWith(/author/),
      );
      assert.equal((await state(h)).stage, 'awaiting_resolution');

      const signed = signedRequest('resolve', {
        workflowId: h.workflowId,
        approver: 'alice',
        text: note,
        secretKey: testSecretKey('alice'),
        now,
        ...(binding ? { binding } : {}),
      });
      await h.executeUpdate(resolveUpdate, { args: [signed] });
      // The same signed request cannot be replayed (the promotion has ended in any case).
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rollback_failed');
      const ended = await h.query<PromotionState>('state');
      assert.equal(ended.resolution?.by, 'alice');
      assert.equal(ended.resolution?.note, note);
      assert.deepEqual(ended.deployed, ['staging'], 'Airlock never claims it restored what it did not');
      await assertSlotReleased(rig);
    });
  });

  test('a breach during the full rollout stops it and restores production after the rollout activity ended', async () => {
    const rig = createRig(env, { deployer: { rolloutMs: 3_000 } });
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval') });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      for (let i = 0; i < 200 && (await state(h)).stage !== 'production'; i++)
        await new Promise((r) => setTimeout(r, 20));
      await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
      assert.equal(r.interruption?.kind, 'breach');
      assertRestored(rig);
      const ops = rig.deployer.operations.map((o) => o.op);
      // The restores come after the rollout call, never beside it.
      assert.deepEqual(ops.slice(-2), ['restore', 'restore']);
      assert.ok(ops.indexOf('promote') < ops.lastIndexOf('restore') - 1);
      await assertSlotReleased(rig);
    });
  });
});

const atCanaryStage = (s: PromotionState) => s.stage === 'canary';

describe('bounded state', () => {
  test('a flood of refused decisions keeps the newest 50 refusals and counts the rest', async () => {
    const rig = createRig(env);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
      for (let i = 0; i < 60; i++) await h.signal('approve', { approver: `mallory-${i}`, via: 'signal' });
      let s = await state(h);
      for (let i = 0; i < 100 && (s.refusalsDropped ?? 0) + s.refusals.length < 60; i++) s = await state(h);
      assert.equal(s.refusals.length, 50);
      assert.equal(s.refusalsDropped, 10);
      assert.equal(s.refusals[0].who, 'mallory-10');
      assert.equal(s.refusals[49].who, 'mallory-59');
      // Reporters get a trimmed copy: every report is a copy of the state in history.
      await h.signal('abort', { by: 'alice', reason: 'done' });
      await h.result();
      const last = rig.reports[rig.reports.length - 1];
      assert.equal(last.refusals.length, 10);
      assert.equal(last.refusalsDropped, 50);
    });
  });
});
