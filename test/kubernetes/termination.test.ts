// Terminate (issue 12, item 7) on a real Kubernetes API server: a promotion terminated from the
// outside runs no rollback of its own; the blast-radius slot's reaper starts its compensation,
// which restores the snapshots recorded in the promotion's history. Whatever stage the terminate
// hits (staging deploy, bake, canary, awaiting approval, the full production rollout), the
// Deployments end on exactly the templates they had before the promotion and no canary is left.
// One cluster, cases in sequence, a one-hour bake (the policy's short-bake allowance).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import {
  createRig,
  feed,
  releaseTimeLocksOfEnded,
  testPolicyYaml,
  timeSkippingEnv,
  untilStage,
  waitFor,
  type PolicyOverrides,
} from '../helpers/harness';
import { signedApproval } from '../helpers/approver-keys';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { createKubernetesDeployer, canaryName } from '../../src/integrations/kubernetes/kubernetes-deployer';
import type { Deployer } from '../../src/integrations/deployer';
import { parsePolicy } from '../../src/policy/config/load';
import { approveUpdate, compensationWorkflowId, type PromotionState } from '../../src/workflows/messages';
import type { CompensationResult } from '../../src/workflows/compensation';
import {
  KUBERNETES_POLICY,
  prepareCluster,
  readDeployment,
  readyPodImages,
  serviceYaml,
  type DeploymentJson,
} from './fixtures';

let cluster: TestCluster;
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  [cluster, env] = await Promise.all([startTestCluster(), timeSkippingEnv()]);
  await prepareCluster(cluster);
});
afterAll(async () => {
  await Promise.all([cluster?.teardown(), env?.teardown()]);
});

const SERVICE = 'notification-service';
const POLICY: PolicyOverrides = {
  bakeHours: 1,
  canaryMinutes: 10,
  extra: KUBERNETES_POLICY,
};

/** The Kubernetes deployer, counting its deploy calls in flight (a terminated promotion's may still run). */
function trackedDeployer(): { deployer: Deployer; deploying: () => number } {
  const policy = parsePolicy(testPolicyYaml(POLICY), 'test-policy');
  const d = createKubernetesDeployer({
    kubeconfig: cluster.kubeconfig('airlock'),
    settings: () => policy.policy.kubernetes!,
    pollMs: 200,
  });
  let inFlight = 0;
  const counted =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      inFlight++;
      try {
        return await fn(...a);
      } finally {
        inFlight--;
      }
    };
  return {
    deployer: {
      kind: d.kind,
      snapshot: d.snapshot.bind(d),
      deploy: counted(d.deploy.bind(d)),
      deployCanary: counted(d.deployCanary.bind(d)),
      promote: counted(d.promote.bind(d)),
      restore: d.restore.bind(d),
    },
    deploying: () => inFlight,
  };
}

/** Polls the promotion's history (real time) until `activity` has been scheduled. */
async function untilScheduled(h: WorkflowHandle, activity: string): Promise<void> {
  await waitFor(
    async () => (await h.fetchHistory()).events ?? [],
    (events) => events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity),
    `${activity} scheduled`,
    2_000,
  );
}

/**
 * Until `activity` is scheduled and the deployer is inside its call (a deploy in mid-flight), and
 * nothing else of the promotion is in flight: the time-skipping server then leaks exactly the
 * deploy's lock at the terminate (releaseTimeLocksOfEnded).
 */
async function midDeploy(h: WorkflowHandle, activity: string, deploying: () => number): Promise<void> {
  await untilScheduled(h, activity);
  await waitFor(
    async () => ({ deploying: deploying(), raw: (await h.describe()).raw }),
    (d) => d.deploying > 0 && !d.raw.pendingWorkflowTask && d.raw.pendingActivities?.length === 1,
    `${activity} inside the deployer, nothing else in flight`,
    2_000,
  );
}

/** Until nothing of the promotion is in flight (its watches wait on timers). */
async function idle(h: WorkflowHandle): Promise<void> {
  await waitFor(
    async () => (await h.describe()).raw,
    (raw) => !raw.pendingWorkflowTask && !raw.pendingActivities?.length,
    'the promotion idle',
    2_000,
  );
}

async function approveTwice(h: WorkflowHandle): Promise<void> {
  for (const who of ['alice', 'bob'])
    await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, who)] });
}

const inCanaryWatch = (s: PromotionState) => s.stage === 'canary' && s.deployed.includes('production');

interface Case {
  stage: string;
  /** Drives the promotion to the moment it is terminated. */
  reach(h: WorkflowHandle, deploying: () => number): Promise<void>;
  restored: string[];
}

const CASES: Case[] = [
  {
    stage: 'staging deploy',
    reach: (h, deploying) => midDeploy(h, 'deployToEnvironment', deploying),
    restored: ['restore staging'],
  },
  {
    stage: 'bake',
    reach: async (h) => {
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 5 });
      await idle(h);
    },
    restored: ['restore staging'],
  },
  {
    stage: 'canary watch',
    reach: async (h) => {
      await feed(env, h, { stop: inCanaryWatch, stepMinutes: 5 });
      await idle(h);
    },
    restored: ['restore production', 'restore staging'],
  },
  {
    stage: 'awaiting approval',
    reach: async (h) => {
      await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 5 });
      await idle(h);
    },
    restored: ['restore production', 'restore staging'],
  },
  {
    stage: 'production rollout',
    reach: async (h, deploying) => {
      await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 5 });
      await approveTwice(h);
      await midDeploy(h, 'promoteCanary', deploying);
    },
    restored: ['restore production', 'restore staging'],
  },
];

describe('terminated at any stage, the reaper compensates: every template exactly as before, no canary', () => {
  for (const c of CASES) {
    test(`terminated during the ${c.stage}`, async () => {
      await cluster.applyYaml(serviceYaml({ service: SERVICE, environment: 'staging', replicas: 2 }));
      await cluster.applyYaml(serviceYaml({ service: SERVICE, environment: 'production', replicas: 10 }));
      const before: Record<string, DeploymentJson> = {};
      for (const e of ['staging', 'production'] as const) {
        before[e] = await waitFor(
          async () => (await readDeployment(cluster, e, SERVICE))!,
          (d) => d.status.availableReplicas === d.spec.replicas && d.status.updatedReplicas === d.spec.replicas,
          `${e} ready before the promotion`,
          2_000,
        );
      }
      const tracked = trackedDeployer();
      const rig = createRig(env, {
        policy: POLICY,
        deps: { deployer: tracked.deployer, loadPolicy: () => parsePolicy(testPolicyYaml(POLICY), 'test-policy') },
      });

      const r: CompensationResult = await rig.run(async () => {
        const h = await rig.start({ service: SERVICE, version: 'v2' });
        await c.reach(h, tracked.deploying);
        await h.terminate(`test: terminate during the ${c.stage}`);
        // The compensation waits a minute of workflow time for the ended promotion's deploys to stop;
        // time is skipped here, so give the deploy call its real seconds first.
        await waitFor(
          async () => tracked.deploying(),
          (n) => n === 0,
          'the terminated deploy stopped',
          2_400,
        );
        // Activities open at the terminate keep the test server's time-skipping lock.
        await releaseTimeLocksOfEnded(env, h);
        const comp = env.client.workflow.getHandle(compensationWorkflowId(h.workflowId));
        for (let i = 0; ; i++) {
          try {
            await comp.describe();
            break;
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError) || i >= 15) throw err;
          }
          await env.sleep('1 minute'); // the reaper checks every 5 minutes
        }
        return comp.result();
      });
      assert.equal(r.promotionStatus, 'TERMINATED');
      assert.equal(r.outcome, 'failed');
      assert.deepEqual(r.restored, c.restored);
      assert.deepEqual(r.stillDeployed, []);

      for (const e of ['staging', 'production'] as const) {
        const after = (await readDeployment(cluster, e, SERVICE))!;
        assert.deepEqual(after.spec.template, before[e].spec.template, `${e}: the exact template before the promotion`);
        assert.equal(after.spec.replicas, before[e].spec.replicas);
        assert.equal(after.status.availableReplicas, before[e].spec.replicas, `${e}: rolled out, not just written`);
      }
      assert.equal(await readDeployment(cluster, 'production', canaryName(SERVICE)), null, 'no canary left');
      assert.deepEqual(await readyPodImages(cluster, 'production', `app=${SERVICE}`), {
        [`registry.example/${SERVICE}:v1`]: 10,
      });
    });
  }
});
