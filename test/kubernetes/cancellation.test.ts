// Cancellation that waits (issue 12, item 3), on a real API server: a deploy activity cancelled
// while the Kubernetes deployer is mid-apply (its server-side apply PATCH held by the proxy) or
// mid-rollout (its rollout status read held) ends with the SDK's CancelledFailure at once, and the
// deployer sends nothing after the cancel: no retry of the apply, no further rollout poll, no
// canary deletion. The held request is then let through (an apply that was already sent may still
// land: the worst case), and the restore the workflow runs after the cancelled activity has ended
// puts every Deployment template back exactly as snapshotted, with no canary left.
//
// The activities run in MockActivityEnvironment around the real deployer; env.cancel() is what a
// heartbeat answer carrying the workflow's cancellation does in a worker.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure, ApplicationFailure } from '@temporalio/common';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { canaryName } from '../../src/integrations/kubernetes/kubernetes-deployer';
import { createDeployActivities } from '../../src/activities/deploy';
import type { DeployResult, EnvironmentSnapshot } from '../../src/integrations/deployer';
import type { Environment } from '../../src/workflows/messages';
import { deployerAs, deployerFor, prepareCluster, readDeployment, readyPodImages, serviceYaml } from './fixtures';
import { startInterleavingProxy, type InterleavingProxy } from './interleaving-proxy';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
  await prepareCluster(cluster);
});
afterAll(async () => {
  await cluster?.teardown();
});

/** The cancel must end the activity at once; generous for a busy 2-core machine. */
const CANCEL_WITHIN_MS = 2_000;
/** Longer than any retry backoff (50-100 ms here) and rollout poll (200 ms) of the test deployer. */
const QUIET_MS = 1_500;

interface Arrived {
  method: string;
  path: string;
  at: number;
}

/**
 * A proxy in front of the API server that records every request of the deployer as it arrives
 * and holds the first one `hold` picks until release() (or forever, until the test ends).
 */
async function holdingProxy(hold: (req: IncomingMessage, arrived: Arrived[]) => boolean) {
  const arrived: Arrived[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let reached!: (a: Arrived) => void;
  const heldReached = new Promise<Arrived>((r) => (reached = r));
  let holding = false;
  const proxy: InterleavingProxy = await startInterleavingProxy(cluster, async (req) => {
    const a = { method: req.method ?? '?', path: req.url ?? '?', at: Date.now() };
    const pick = !holding && hold(req, arrived);
    arrived.push(a);
    if (pick) {
      holding = true;
      reached(a);
      await released;
    }
  });
  return { proxy, arrived, heldReached, release };
}

/** The activity `run` must reject with the SDK's CancelledFailure within CANCEL_WITHIN_MS of `cancelledAt`. */
async function assertCancelled(run: Promise<unknown>, cancelledAt: number) {
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof CancelledFailure, `CancelledFailure, got ${String(err)}`);
    assert.ok(!(err instanceof ApplicationFailure), 'not a DeployFailed / DeployRejected');
    return true;
  });
  const ms = Date.now() - cancelledAt;
  assert.ok(ms < CANCEL_WITHIN_MS, `ended ${ms} ms after the cancel`);
}

/** Restores through the (uncancelled) activity, with a deployer that does not go through the proxy. */
async function restore(snapshot: EnvironmentSnapshot): Promise<DeployResult> {
  const acts = createDeployActivities(deployerAs(cluster));
  return (await new MockActivityEnvironment().run(acts.restoreEnvironment, snapshot)) as DeployResult;
}

async function snapshotOf(service: string, environment: Environment): Promise<EnvironmentSnapshot> {
  // As it travels through workflow state: JSON.
  return JSON.parse(JSON.stringify(await deployerAs(cluster).snapshot(service, environment)));
}

const isApplyOf = (name: string) => (req: IncomingMessage) =>
  req.method === 'PATCH' && (req.url ?? '').split('?')[0].endsWith(`/deployments/${name}`);

describe('a deploy activity cancelled mid-apply on a real API server', () => {
  test('canary: the held server-side apply is the last request; restore leaves no canary, the stable template as snapshotted', async () => {
    const service = 'svc-cancel-canary';
    await cluster.applyYaml(serviceYaml({ service, environment: 'production', replicas: 4 }));
    const original = (await readDeployment(cluster, 'production', service))!;
    const snapshot = await snapshotOf(service, 'production');
    assert.equal(snapshot.canary, null);

    const { proxy, arrived, heldReached, release } = await holdingProxy(isApplyOf(canaryName(service)));
    try {
      const env = new MockActivityEnvironment();
      const run = env.run(createDeployActivities(deployerFor(proxy.kubeconfig)).deployCanary, {
        service,
        version: 'v2',
        percent: 10,
      });
      const held = await heldReached;
      const cancelledAt = Date.now();
      env.cancel();
      await assertCancelled(run, cancelledAt);

      // The apply had been sent: let it reach the API server now, after the cancel (worst case).
      release();
      await waitFor(() => proxy.seen.some((s) => s.method === 'PATCH' && s.path === held.path));
      await new Promise((r) => setTimeout(r, QUIET_MS));
      assert.deepEqual(
        arrived.filter((a) => a.at > cancelledAt),
        [],
        'no request of the cancelled deployer after the cancel',
      );
      assert.equal(arrived.filter((a) => a.method === 'PATCH').length, 1, 'one apply: the held one, never retried');
      assert.ok(
        await readDeployment(cluster, 'production', canaryName(service)),
        'the late apply created the canary: the restore has something to undo',
      );

      const r = await restore(snapshot);
      assert.match(r.summary, /canary removed/);
      const restored = (await readDeployment(cluster, 'production', service))!;
      assert.deepEqual(restored.spec.template, original.spec.template, 'the stable template, exactly as snapshotted');
      assert.deepEqual(restored.spec.template, snapshot.stable?.template);
      assert.equal(restored.spec.replicas, 4);
      assert.equal(await readDeployment(cluster, 'production', canaryName(service)), null, 'no canary Deployment');
      assert.deepEqual(await readyPodImages(cluster, 'production', `app=${service}`), {
        [`registry.example/${service}:v1`]: 4,
      });
    } finally {
      release();
      await proxy.close();
    }
  });

  test('rollout: the held apply of the stable Deployment is not retried; restore puts the template back exactly', async () => {
    const service = 'svc-cancel-deploy';
    await cluster.applyYaml(serviceYaml({ service, environment: 'staging', replicas: 3 }));
    // Rolled out and settled first: no status write of the controller makes the held apply's
    // resourceVersion stale, so the late apply lands (rather than meeting a 409).
    await waitFor(async () => {
      const d = await readDeployment(cluster, 'staging', service);
      return (d?.status.observedGeneration ?? 0) >= (d?.metadata.generation ?? 1) && d?.status.availableReplicas === 3;
    });
    const original = (await readDeployment(cluster, 'staging', service))!;
    const snapshot = await snapshotOf(service, 'staging');

    const { proxy, arrived, heldReached, release } = await holdingProxy(isApplyOf(service));
    try {
      const env = new MockActivityEnvironment();
      const run = env.run(createDeployActivities(deployerFor(proxy.kubeconfig)).deployToEnvironment, {
        service,
        environment: 'staging' as const,
        version: 'v2',
      });
      const held = await heldReached;
      const cancelledAt = Date.now();
      env.cancel();
      await assertCancelled(run, cancelledAt);

      release();
      await waitFor(() => proxy.seen.some((s) => s.method === 'PATCH' && s.path === held.path));
      await new Promise((r) => setTimeout(r, QUIET_MS));
      assert.deepEqual(
        arrived.filter((a) => a.at > cancelledAt),
        [],
        'no request after the cancel: no retry, no rollout poll',
      );
      assert.equal(arrived.filter((a) => a.method === 'PATCH').length, 1);
      assert.equal(proxy.seen.find((s) => s.method === 'PATCH')?.status, 200, 'the late apply was accepted');
      const landed = (await readDeployment(cluster, 'staging', service))!;
      assert.equal(
        landed.spec.template.spec.containers[0].image,
        `registry.example/${service}:v2`,
        'the late apply landed: the restore has something to undo',
      );

      await restore(snapshot);
      const restored = (await readDeployment(cluster, 'staging', service))!;
      assert.deepEqual(restored.spec.template, original.spec.template, 'exactly the template snapshotted before');
      assert.equal(restored.spec.replicas, 3);
      assert.equal(restored.status.availableReplicas, 3);
      assert.equal(await readDeployment(cluster, 'staging', canaryName(service)), null);
    } finally {
      release();
      await proxy.close();
    }
  });

  test('promote cancelled while waiting for the rollout: no further poll, the canary is not deleted by it; restore puts both back', async () => {
    const service = 'svc-cancel-promote';
    await cluster.applyYaml(serviceYaml({ service, environment: 'production', replicas: 4 }));
    const original = (await readDeployment(cluster, 'production', service))!;
    const snapshot = await snapshotOf(service, 'production');
    await deployerAs(cluster).deployCanary({ service, version: 'v2', percent: 10 });

    // Hold the first read of the stable Deployment after its apply: the rollout wait's status poll.
    const { proxy, arrived, heldReached, release } = await holdingProxy(
      (req, before) =>
        req.method === 'GET' &&
        (req.url ?? '').split('?')[0].endsWith(`/deployments/${service}`) &&
        before.some((a) => a.method === 'PATCH'),
    );
    try {
      const env = new MockActivityEnvironment();
      const run = env.run(createDeployActivities(deployerFor(proxy.kubeconfig)).promoteCanary, {
        service,
        version: 'v2',
      });
      await heldReached;
      const cancelledAt = Date.now();
      env.cancel();
      await assertCancelled(run, cancelledAt);
      release();
      await new Promise((r) => setTimeout(r, QUIET_MS));
      assert.deepEqual(
        arrived.filter((a) => a.at > cancelledAt),
        [],
        'no request after the cancel',
      );
      assert.deepEqual(
        arrived.map((a) => a.method),
        ['GET', 'PATCH', 'GET'],
        'read, apply, the held rollout poll: nothing else (no DELETE of the canary)',
      );
      assert.ok(await readDeployment(cluster, 'production', canaryName(service)), 'the canary is still there');

      await restore(snapshot);
      const restored = (await readDeployment(cluster, 'production', service))!;
      assert.deepEqual(restored.spec.template, original.spec.template, 'exactly the template snapshotted before');
      assert.equal(restored.status.availableReplicas, 4);
      assert.equal(await readDeployment(cluster, 'production', canaryName(service)), null, 'no canary Deployment');
    } finally {
      release();
      await proxy.close();
    }
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
