// Deployer faults, injected through ActivityDeps into the real activities and workflows (in-process
// worker, Java time-skipping server so retry backoffs and timeouts do not take real time).
// The faulty deployer fails the way a real one classifies API errors (src/integrations/kubernetes/kubernetes-errors.ts):
// 5xx, 409 conflicts and timeouts are transient (plain errors, retried by the activity's policy);
// 403 is a DeployRejectedError (non-retryable). Expected, per docs and DESIGN.md:
//   transient → retried, the promotion carries on; persistent or non-retryable → deploy_failed,
//   everything deployed so far restored newest first, outcome `failed`, slot released.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { DeployRejectedError } from '../../src/activities/deploy';
import {
  createSimulatedDeployer,
  type DeployOperation,
  type SimulatedDeployer,
} from '../../src/integrations/simulation/simulated-deployer';
import type { Deployer } from '../../src/integrations/deployer';
import {
  abortUpdate,
  approveUpdate,
  type Environment,
  type PromotionResult,
  type PromotionState,
} from '../../src/workflows/messages';
import {
  createRig,
  feed,
  sendSample,
  slotWhenReleased,
  state,
  timeSkippingEnv,
  untilStage,
  type Rig,
  atRate,
} from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';

type Fault = '503' | 'timeout' | '409' | '403';
interface FaultRule {
  op: DeployOperation;
  environment?: Environment;
  fault: Fault;
  /** How many calls fail before the deployer answers again; Infinity for always. */
  times: number;
}

function faultError(fault: Fault, what: string): Error {
  switch (fault) {
    case '503':
      return new Error(`${what}: 503 Service Unavailable from the API server`);
    case 'timeout':
      return new Error(`${what}: ETIMEDOUT: no answer from the API server within 30 s`);
    case '409':
      return new Error(
        `${what}: 409 Conflict: the object has been modified; please apply your changes to the latest version`,
      );
    case '403':
      return new DeployRejectedError(
        `${what}: 403 Forbidden: the deployer's service account may not patch deployments`,
      );
  }
}

/** Wraps a deployer: the first `times` calls matching a rule fail with its fault. Records every call. */
function faultyDeployer(inner: SimulatedDeployer, rules: FaultRule[]) {
  const calls: Array<{ op: DeployOperation; environment: Environment; outcome: 'ok' | Fault }> = [];
  const left = rules.map((r) => r.times);
  async function call<T>(op: DeployOperation, environment: Environment, run: () => Promise<T>): Promise<T> {
    const i = rules.findIndex(
      (r, k) => r.op === op && (!r.environment || r.environment === environment) && left[k] > 0,
    );
    if (i >= 0) {
      left[i]--;
      calls.push({ op, environment, outcome: rules[i].fault });
      throw faultError(rules[i].fault, `${op} ${environment}`);
    }
    calls.push({ op, environment, outcome: 'ok' });
    return run();
  }
  const deployer: Deployer = {
    kind: 'faulty-simulated',
    snapshot: (service, environment) => inner.snapshot(service, environment),
    deploy: (req) => call('deploy', req.environment, () => inner.deploy(req)),
    deployCanary: (req) => call('deployCanary', 'production', () => inner.deployCanary(req)),
    promote: (req) => call('promote', 'production', () => inner.promote(req)),
    restore: (snap) => call('restore', snap.environment, () => inner.restore(snap)),
  };
  return { deployer, calls };
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const INITIAL = { stable: { version: 'initial', replicas: 4 }, canary: null };
// Five times the baseline's 1 %: breached on its first interval.
const BREACH = atRate(0.05);

function faultRig(rules: FaultRule[]): {
  rig: Rig;
  inner: SimulatedDeployer;
  calls: ReturnType<typeof faultyDeployer>['calls'];
} {
  const inner = createSimulatedDeployer();
  const { deployer, calls } = faultyDeployer(inner, rules);
  const rig = createRig(env, {
    policy: { bakeHours: 1, canaryMinutes: 30, productionWatchMinutes: 30 },
    deps: { deployer },
  });
  return { rig, inner, calls };
}

const tries = (calls: ReturnType<typeof faultyDeployer>['calls'], op: DeployOperation, environment: Environment) =>
  calls.filter((c) => c.op === op && c.environment === environment).map((c) => c.outcome);

async function assertSlotFree(rig: Rig) {
  const s = await slotWhenReleased(env, rig.slotWorkflowId);
  assert.deepEqual(s.holders, [], 'the slot is released');
}

async function approveBoth(h: WorkflowHandle) {
  await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
  await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
}

async function abortAndEnd(h: WorkflowHandle): Promise<PromotionResult> {
  await h.executeUpdate(abortUpdate, { args: [{ by: 'carol', reason: 'fault test over' }] });
  return h.result();
}

describe('deployer faults', () => {
  for (const fault of ['503', 'timeout', '409'] as const) {
    test(`transient ${fault} on the staging deploy: retried, and the promotion carries on`, async () => {
      const { rig, inner, calls } = faultRig([{ op: 'deploy', environment: 'staging', fault, times: 2 }]);
      await rig.run(async () => {
        const h = await rig.start();
        const s: PromotionState = await feed(env, h, { stop: untilStage('baking'), stepMinutes: 1 });
        assert.deepEqual(tries(calls, 'deploy', 'staging'), [fault, fault, 'ok']);
        assert.deepEqual(s.deployed, ['staging']);
        assert.equal(s.interruption, undefined);
        assert.deepEqual(inner.view('notification-service', 'staging').stable, { version: 'v2', replicas: 4 });
        assert.deepEqual(
          inner.operations.map((o) => `${o.op}:${o.environment}`),
          ['deploy:staging'],
          'deployed once',
        );
        const r = await abortAndEnd(h);
        assert.equal(r.outcome, 'aborted');
        assert.deepEqual(inner.view('notification-service', 'staging'), INITIAL);
        await assertSlotFree(rig);
      });
    });
  }

  test('409 conflicts on the canary and 503 on the production rollout: retried, promoted', async () => {
    const { rig, inner, calls } = faultRig([
      { op: 'deployCanary', fault: '409', times: 3 },
      { op: 'promote', fault: '503', times: 2 },
    ]);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 10 });
      await approveBoth(h);
      await feed(env, h, { stop: () => false, stepMinutes: 5 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
      assert.deepEqual(tries(calls, 'deployCanary', 'production'), ['409', '409', '409', 'ok']);
      assert.deepEqual(tries(calls, 'promote', 'production'), ['503', '503', 'ok']);
      assert.deepEqual(
        inner.operations.map((o) => `${o.op}:${o.environment}`),
        ['deploy:staging', 'deployCanary:production', 'promote:production'],
      );
      assert.deepEqual(inner.view('notification-service', 'production'), {
        stable: { version: 'v2', replicas: 4 },
        canary: null,
      });
      await assertSlotFree(rig);
    });
  });

  test('persistent 503 on the canary: gives up after 5 attempts, rolls back production then staging, failed', async () => {
    const { rig, inner, calls } = faultRig([{ op: 'deployCanary', fault: '503', times: Infinity }]);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: (s) => s.stage === 'ended', stepMinutes: 10 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.interruption?.kind, 'deploy_failed');
      if (r.interruption?.kind === 'deploy_failed') {
        assert.equal(r.interruption.environment, 'production');
        assert.match(r.interruption.message, /503 Service Unavailable/);
      }
      assert.deepEqual(tries(calls, 'deployCanary', 'production'), ['503', '503', '503', '503', '503']);
      const s = await state(h);
      assert.deepEqual(s.rollback?.steps, ['restore production', 'restore staging']);
      assert.equal(s.rollback?.error, undefined);
      assert.deepEqual(inner.view('notification-service', 'staging'), INITIAL);
      assert.deepEqual(inner.view('notification-service', 'production'), INITIAL);
      await assertSlotFree(rig);
    });
  });

  test('403 on the staging deploy: not retried, staging restored, failed', async () => {
    const { rig, inner, calls } = faultRig([{ op: 'deploy', environment: 'staging', fault: '403', times: Infinity }]);
    await rig.run(async () => {
      const h = await rig.start();
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.interruption?.kind, 'deploy_failed');
      if (r.interruption?.kind === 'deploy_failed') assert.match(r.interruption.message, /403 Forbidden/);
      assert.deepEqual(tries(calls, 'deploy', 'staging'), ['403'], 'a refused deploy is not retried');
      assert.deepEqual(tries(calls, 'restore', 'staging'), ['ok']);
      assert.deepEqual(inner.view('notification-service', 'staging'), INITIAL);
      await assertSlotFree(rig);
    });
  });

  test('403 on the production rollout after two approvals: not retried, production and staging restored, failed', async () => {
    const { rig, inner, calls } = faultRig([{ op: 'promote', fault: '403', times: Infinity }]);
    await rig.run(async () => {
      const h = await rig.start();
      await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 10 });
      await approveBoth(h);
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'failed');
      assert.deepEqual(tries(calls, 'promote', 'production'), ['403']);
      assert.deepEqual(
        calls.filter((c) => c.op === 'restore').map((c) => `${c.environment}:${c.outcome}`),
        ['production:ok', 'staging:ok'],
      );
      assert.deepEqual(inner.view('notification-service', 'production'), INITIAL);
      assert.deepEqual(inner.view('notification-service', 'staging'), INITIAL);
      await assertSlotFree(rig);
    });
  });

  test('faults during the rollback: a 503 restore is retried; a 403 restore fails, the rest still restored, rollback_failed held for a human', async () => {
    for (const [fault, outcome] of [
      ['503', 'rolled_back'],
      ['403', 'rollback_failed'],
    ] as const) {
      const { rig, inner, calls } = faultRig([
        { op: 'restore', environment: 'production', fault, times: fault === '503' ? 2 : Infinity },
      ]);
      await rig.run(async () => {
        const h = await rig.start();
        await feed(env, h, { stop: untilStage('canary'), stepMinutes: 10 });
        await feed(env, h, { stop: (s) => s.deployed.includes('production'), stepMinutes: 1 });
        await sendSample(env, h, { environment: 'production', ...BREACH });
        // A 503 is retried (result() lets the server skip the backoff); a 403 is final and the
        // promotion then waits, running, for a human's signed resolve.
        if (fault === '503') await h.result();
        let s = await state(h);
        for (let i = 0; i < 200 && s.stage !== 'ended' && s.stage !== 'awaiting_resolution'; i++) {
          await new Promise((r) => setTimeout(r, 50));
          s = await state(h);
        }
        assert.equal(s.outcome, outcome, `${fault} on restore`);
        assert.equal(s.interruption?.kind, 'breach');
        assert.deepEqual(s.rollback?.steps, ['restore production', 'restore staging']);
        assert.deepEqual(
          inner.view('notification-service', 'staging'),
          INITIAL,
          'staging restored whatever happened to production',
        );
        if (fault === '503') {
          assert.deepEqual(tries(calls, 'restore', 'production'), ['503', '503', 'ok']);
          assert.deepEqual(inner.view('notification-service', 'production'), INITIAL);
          assert.equal(s.rollback?.error, undefined);
          assert.equal(((await h.result()) as PromotionResult).outcome, 'rolled_back');
          await assertSlotFree(rig);
        } else {
          assert.deepEqual(tries(calls, 'restore', 'production'), ['403']);
          assert.match(s.rollback?.error ?? '', /restore production: .*403 Forbidden/);
          // Honest about what is left: the canary is still running in production; a human must act,
          // and until then the service keeps its slot.
          assert.deepEqual(inner.view('notification-service', 'production').canary, { version: 'v2', replicas: 1 });
          assert.equal(s.stage, 'awaiting_resolution');
          assert.deepEqual(s.deployed, ['production']);
          await h.terminate('test cleanup: a human would run airlock resolve');
        }
      });
    }
  });
});
