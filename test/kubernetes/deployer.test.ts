// The Kubernetes deployer against a real API server (etcd, kube-apiserver, controller-manager,
// scheduler, kwok): rollouts, canary, promote, exact restore, and how failures are classified.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import {
  canaryName,
  canaryReplicas,
  FIELD_MANAGER,
  TRACK_LABEL,
  VERSION_ANNOTATION,
} from '../../src/integrations/kubernetes/kubernetes-deployer';
import { DeployRejectedError, createDeployActivities } from '../../src/activities/deploy';
import { KubernetesTransientError } from '../../src/integrations/kubernetes/kubernetes-errors';
import { rolloutStatus } from '../../src/integrations/kubernetes/kubernetes-rollout';
import { imageWithVersion, invalidVersion } from '../../src/integrations/kubernetes/image-ref';
import { FailureType } from '../../src/common/failure-types';
import {
  deployerAs,
  deployerFor,
  deployerRightsYaml,
  prepareCluster,
  readDeployment,
  readyPodImages,
  serviceYaml,
} from './fixtures';
import { startInterleavingProxy } from './interleaving-proxy';
import { CapacityForbiddenError, readNodePoolFreeMemory } from '../../src/integrations/kubernetes/kubernetes-capacity';
import { sendRawJson } from '../../src/integrations/kubernetes/kubernetes-raw';
import { withClusterFreeMemory } from '../../src/worker/kubernetes-wiring';
import { parsePolicy } from '../../src/policy/config/load';
import { testPolicyYaml } from '../helpers/harness';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
  await prepareCluster(cluster);
});
afterAll(async () => {
  await cluster?.teardown();
});

describe('pure parts', () => {
  test('canary replicas: ceil(percent % of stable), at least 1', () => {
    assert.equal(canaryReplicas(4, 10), 1);
    assert.equal(canaryReplicas(10, 10), 1);
    assert.equal(canaryReplicas(11, 10), 2);
    assert.equal(canaryReplicas(15, 10), 2);
    assert.equal(canaryReplicas(20, 25), 5);
    assert.equal(canaryReplicas(0, 10), 1);
  });
  test('a version is a tag, or a whole image reference', () => {
    assert.equal(imageWithVersion('registry.example:5000/team/app:v1', 'v2'), 'registry.example:5000/team/app:v2');
    assert.equal(imageWithVersion('app@sha256:abc', 'v2'), 'app:v2');
    assert.equal(imageWithVersion('app', '3f2a9c1'), 'app:3f2a9c1');
    assert.equal(imageWithVersion('app:v1', 'other.example/app:v9'), 'other.example/app:v9');
    assert.equal(invalidVersion('v2'), undefined);
    assert.equal(invalidVersion('3f2a9c1e'), undefined);
    assert.equal(invalidVersion('registry.example:5000/team/app:v2'), undefined);
    assert.match(invalidVersion('v2 ') ?? '', /not an image tag/);
    assert.match(invalidVersion('-rc1') ?? '', /not an image tag/);
    assert.match(invalidVersion('Registry/App:v2') ?? '', /not an image reference/);
  });
  test('rollout status reads like kubectl rollout status, and waits out a scale-down', () => {
    const d = (status: object, generation = 2, replicas = 3) => ({
      metadata: { generation },
      spec: { replicas },
      status,
    });
    assert.deepEqual(rolloutStatus(d({ observedGeneration: 1 })), {
      done: false,
      waitingFor: 'the deployment controller to observe the new spec',
    });
    assert.deepEqual(rolloutStatus(d({ observedGeneration: 2, updatedReplicas: 1, replicas: 3 })), {
      done: false,
      waitingFor: '1 of 3 new replicas updated',
    });
    assert.deepEqual(rolloutStatus(d({ observedGeneration: 2, updatedReplicas: 3, replicas: 4 })), {
      done: false,
      waitingFor: '1 old replica(s) pending termination',
    });
    assert.deepEqual(
      rolloutStatus(d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 })),
      { done: false, waitingFor: '2 of 3 updated replicas available' },
    );
    assert.deepEqual(
      rolloutStatus(d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })),
      { done: true },
    );
    // A scale-down 5 → 3: kubectl says done at once; a restore is exact only once the surplus is gone.
    assert.deepEqual(
      rolloutStatus(d({ observedGeneration: 2, updatedReplicas: 5, replicas: 5, availableReplicas: 5 })),
      { done: false, waitingFor: '2 surplus replica(s) terminating after a scale-down' },
    );
    const stuck = rolloutStatus(
      d({
        observedGeneration: 2,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "x" has timed out progressing.',
          },
        ],
      }),
    );
    assert.ok('failed' in stuck && stuck.failed.includes('ProgressDeadlineExceeded'));
    const failing = rolloutStatus(
      d({
        observedGeneration: 2,
        updatedReplicas: 0,
        conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'exceeded quota' }],
      }),
    );
    assert.deepEqual(failing, {
      done: false,
      waitingFor: '0 of 3 new replicas updated (ReplicaFailure FailedCreate: exceeded quota)',
    });
  });
});

describe('kubernetes deployer on a real API server', () => {
  test('staging deploy: the new version in the chosen container, returned only once the rollout is complete', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-staging', environment: 'staging', replicas: 3 }));
    const deployer = deployerAs(cluster);
    const before = await deployer.snapshot('svc-staging', 'staging');
    assert.equal(before.stable?.version, 'v1');
    assert.equal(before.stable?.replicas, 3);
    assert.equal(before.canary, null);

    const r = await deployer.deploy({ service: 'svc-staging', environment: 'staging', version: 'v2' });
    assert.match(
      r.summary,
      /^\[kubernetes\] svc-staging v2 on all of staging: Deployment staging\/svc-staging rolled out, 3 replica\(s\) available/,
    );
    // Checked at once, not eventually: deploy() returned only when kubectl rollout status would have.
    const d = (await readDeployment(cluster, 'staging', 'svc-staging'))!;
    assert.ok((d.status.observedGeneration ?? 0) >= d.metadata.generation);
    assert.equal(d.status.updatedReplicas, 3);
    assert.equal(d.status.availableReplicas, 3);
    assert.equal(d.status.replicas, 3);
    const images = Object.fromEntries(d.spec.template.spec.containers.map((c) => [c.name, c.image]));
    assert.deepEqual(images, { app: 'registry.example/svc-staging:v2', sidecar: 'registry.example/log-shipper:3.1' });
    assert.equal(d.spec.template.metadata.annotations?.[VERSION_ANNOTATION], 'v2');
    assert.ok(
      d.metadata.managedFields?.some((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply'),
      'a server-side apply by field manager airlock',
    );
    assert.deepEqual(await readyPodImages(cluster, 'staging', 'app=svc-staging'), {
      'registry.example/svc-staging:v2': 3,
    });
    assert.equal((await deployer.snapshot('svc-staging', 'staging')).stable?.version, 'v2');
  });

  test('canary: <service>-canary with ceil(10 % of stable) replicas, reached by the stable Service', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-canary', environment: 'production', replicas: 15 }));
    const deployer = deployerAs(cluster);
    const r = await deployer.deployCanary({ service: 'svc-canary', version: 'v2', percent: 10 });
    assert.match(r.summary, /Deployment production\/svc-canary-canary 2 replica\(s\) beside 15 stable/);
    const canary = (await readDeployment(cluster, 'production', canaryName('svc-canary')))!;
    assert.equal(canary.spec.replicas, 2);
    assert.equal(canary.status.availableReplicas, 2);
    assert.equal(canary.spec.template.metadata.labels[TRACK_LABEL], 'canary');
    // The stable Service's selector (app=svc-canary) reaches both versions: the replica-weighted canary.
    assert.deepEqual(await readyPodImages(cluster, 'production', 'app=svc-canary'), {
      'registry.example/svc-canary:v1': 15,
      'registry.example/svc-canary:v2': 2,
    });
    const stable = (await readDeployment(cluster, 'production', 'svc-canary'))!;
    assert.equal(
      stable.spec.template.spec.containers[0].image,
      'registry.example/svc-canary:v1',
      'the stable Deployment is untouched',
    );

    await cluster.applyYaml(serviceYaml({ service: 'svc-small', environment: 'production', replicas: 4 }));
    await deployer.deployCanary({ service: 'svc-small', version: 'v2', percent: 10 });
    assert.equal((await readDeployment(cluster, 'production', canaryName('svc-small')))!.spec.replicas, 1);
  });

  test('promote: stable gets the new template and is rolled out, then the canary is removed', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-promote', environment: 'production', replicas: 4 }));
    const deployer = deployerAs(cluster);
    await deployer.deployCanary({ service: 'svc-promote', version: 'v2', percent: 10 });
    const r = await deployer.promote({ service: 'svc-promote', version: 'v2' });
    assert.match(r.summary, /canary removed/);
    assert.equal(await readDeployment(cluster, 'production', canaryName('svc-promote')), null);
    const stable = (await readDeployment(cluster, 'production', 'svc-promote'))!;
    assert.equal(stable.spec.template.spec.containers[0].image, 'registry.example/svc-promote:v2');
    assert.equal(stable.status.availableReplicas, 4);
    // Foreground deletion: no canary pod is left serving once promote returned.
    const canaryPods = await cluster.admin.core.listNamespacedPod({
      namespace: 'production',
      labelSelector: `app=svc-promote,${TRACK_LABEL}=canary`,
    });
    assert.equal(canaryPods.items.length, 0);
  });

  test('restore: the exact template recorded before the change, rolled out, canary removed', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-restore', environment: 'production', replicas: 4 }));
    const deployer = deployerAs(cluster);
    const original = (await readDeployment(cluster, 'production', 'svc-restore'))!;
    // The snapshot travels through workflow state as JSON; restore must work from that form.
    const snapshot = JSON.parse(JSON.stringify(await deployer.snapshot('svc-restore', 'production')));
    assert.deepEqual(snapshot.stable.template, original.spec.template);

    await deployer.deployCanary({ service: 'svc-restore', version: 'v2', percent: 10 });
    await deployer.promote({ service: 'svc-restore', version: 'v2' });
    await deployer.deployCanary({ service: 'svc-restore', version: 'v3', percent: 10 });
    const changed = (await readDeployment(cluster, 'production', 'svc-restore'))!;
    assert.notDeepEqual(changed.spec.template, original.spec.template);

    const r = await deployer.restore(snapshot);
    assert.match(r.summary, /back on v1; canary removed/);
    const restored = (await readDeployment(cluster, 'production', 'svc-restore'))!;
    assert.deepEqual(
      restored.spec.template,
      original.spec.template,
      'byte-for-byte the template recorded before the change',
    );
    assert.equal(restored.spec.replicas, 4);
    assert.equal(restored.status.availableReplicas, 4);
    assert.equal(restored.status.updatedReplicas, 4);
    assert.equal(await readDeployment(cluster, 'production', canaryName('svc-restore')), null);
    assert.deepEqual(await readyPodImages(cluster, 'production', 'app=svc-restore'), {
      'registry.example/svc-restore:v1': 4,
    });
  });

  test('restore re-creates a canary that existed before the change, verbatim', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-had-canary', environment: 'production', replicas: 10 }));
    const deployer = deployerAs(cluster);
    await deployer.deployCanary({ service: 'svc-had-canary', version: 'v1.5', percent: 20 });
    const canaryBefore = (await readDeployment(cluster, 'production', canaryName('svc-had-canary')))!;
    const snapshot = JSON.parse(JSON.stringify(await deployer.snapshot('svc-had-canary', 'production')));
    assert.equal(snapshot.canary.version, 'v1.5');
    await deployer.deployCanary({ service: 'svc-had-canary', version: 'v2', percent: 10 });
    await deployer.restore(snapshot);
    const canaryAfter = (await readDeployment(cluster, 'production', canaryName('svc-had-canary')))!;
    assert.deepEqual(canaryAfter.spec.template, canaryBefore.spec.template);
    assert.equal(canaryAfter.spec.replicas, 2);
  });

  test('a rollout that exceeds its progress deadline fails, naming the Deployment and ProgressDeadlineExceeded', async () => {
    // Pods of this service only fit on a node pool that does not exist: the new ReplicaSet never becomes available.
    await cluster.applyYaml(
      serviceYaml({
        service: 'svc-stuck',
        environment: 'staging',
        replicas: 1,
        progressDeadlineSeconds: 2,
        nodeSelector: { pool: 'none' },
      }),
    );
    const deployer = deployerAs(cluster);
    const started = Date.now();
    await assert.rejects(
      deployer.deploy({ service: 'svc-stuck', environment: 'staging', version: 'v2' }),
      (err: Error) => {
        assert.ok(err instanceof DeployRejectedError, `non-retryable, got ${err.constructor.name}: ${err.message}`);
        assert.match(
          err.message,
          /rollout of Deployment staging\/svc-stuck failed: progress deadline exceeded \(ProgressDeadlineExceeded\)/,
        );
        return true;
      },
    );
    assert.ok(Date.now() - started < 60_000, "failed on the Deployment condition, not on Airlock's own timeout");
  });

  test('403, 404 and 422 are non-retryable and name the object and the reason', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-refused', environment: 'staging', replicas: 1 }));
    const readOnly = deployerAs(cluster, 'read-only');
    await assert.rejects(
      readOnly.deploy({ service: 'svc-refused', environment: 'staging', version: 'v2' }),
      (err: Error) => {
        assert.ok(err instanceof DeployRejectedError, err.message);
        assert.match(
          err.message,
          /apply Deployment staging\/svc-refused refused: 403 Forbidden: .*cannot patch resource "deployments"/,
        );
        return true;
      },
    );

    const deployer = deployerAs(cluster);
    // A service of the policy (so with its rights) whose Deployment does not exist: 404, not 403.
    await cluster.applyYaml(deployerRightsYaml('svc-missing', 'staging'));
    await assert.rejects(
      deployer.deploy({ service: 'svc-missing', environment: 'staging', version: 'v2' }),
      (err: Error) => {
        assert.ok(err instanceof DeployRejectedError, err.message);
        assert.match(err.message, /Deployment staging\/svc-missing not found/);
        return true;
      },
    );
    await assert.rejects(
      deployerAs(cluster, 'airlock', { staging: { namespace: 'no-such-namespace' } }).deployCanary({
        service: 'svc-refused',
        version: 'v2',
        percent: 10,
      }),
      DeployRejectedError,
    );

    // A snapshot whose template no longer matches the Deployment's selector: the API server's 422.
    const snapshot = JSON.parse(JSON.stringify(await deployer.snapshot('svc-refused', 'staging')));
    snapshot.stable.template.metadata.labels = { app: 'another-service' };
    await assert.rejects(deployer.restore(snapshot), (err: Error) => {
      assert.ok(err instanceof DeployRejectedError, err.message);
      assert.match(
        err.message,
        /apply Deployment staging\/svc-refused refused: 422 Invalid: .*`selector` does not match template `labels`/,
      );
      return true;
    });
    // A version no registry could serve is refused before it reaches the cluster (the Deployment
    // would accept it and its pods would fail to be created until the progress deadline).
    await assert.rejects(
      deployer.deploy({ service: 'svc-refused', environment: 'staging', version: 'v2 ' }),
      /version for Deployment staging\/svc-refused: "v2 " is not an image tag/,
    );

    // Through the activity: a non-retryable failure of a type a human can read in the Temporal UI.
    const acts = createDeployActivities(readOnly);
    await assert.rejects(
      new MockActivityEnvironment().run(acts.deployToEnvironment, {
        service: 'svc-refused',
        environment: 'staging' as const,
        version: 'v2',
      }),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, FailureType.DeployRejected);
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /Deployment staging\/svc-refused refused: 403/);
        return true;
      },
    );
    const unchanged = (await readDeployment(cluster, 'staging', 'svc-refused'))!;
    assert.equal(unchanged.spec.template.spec.containers[0].image, 'registry.example/svc-refused:v1');
  });

  test("409: a concurrent write between read and apply is re-read and re-applied; the other writer's change survives", async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-conflict', environment: 'staging', replicas: 2 }));
    let interleaved = 0;
    const proxy = await startInterleavingProxy(cluster, async (req) => {
      if (req.method === 'PATCH' && req.url?.includes('/deployments/svc-conflict') && interleaved < 2) {
        interleaved++;
        // Someone else (an HPA, a human with kubectl) writes the Deployment first.
        await cluster.admin.apps.patchNamespacedDeployment({
          name: 'svc-conflict',
          namespace: 'staging',
          body: [{ op: 'add', path: `/metadata/annotations/concurrent-writer-${interleaved}`, value: 'yes' }],
        });
      }
    });
    try {
      const deployer = deployerFor(proxy.kubeconfig);
      await deployer.deploy({ service: 'svc-conflict', environment: 'staging', version: 'v2' });
      const patches = proxy.seen.filter((s) => s.method === 'PATCH');
      assert.deepEqual(
        patches.map((p) => p.status),
        [409, 409, 200],
        'the API server refused the two stale applies, the third went through',
      );
      const d = (await readDeployment(cluster, 'staging', 'svc-conflict'))!;
      assert.equal(d.spec.template.spec.containers[0].image, 'registry.example/svc-conflict:v2');
      assert.equal(d.metadata.annotations?.['concurrent-writer-1'], 'yes');
      assert.equal(d.metadata.annotations?.['concurrent-writer-2'], 'yes');
    } finally {
      await proxy.close();
    }
  });

  test('an API server that does not answer in time is asked again (bounded), not waited on forever', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-slow', environment: 'staging', replicas: 1 }));
    let held = 0;
    const proxy = await startInterleavingProxy(cluster, async (req) => {
      if (req.method === 'PATCH' && req.url?.includes('/deployments/svc-slow') && held < 1) {
        held++;
        await new Promise((r) => setTimeout(r, 3_000)); // the first apply hangs past the attempt timeout
      }
    });
    try {
      const deployer = deployerFor(proxy.kubeconfig, {}, { attemptTimeoutMs: 1_000 });
      const started = Date.now();
      await deployer.deploy({ service: 'svc-slow', environment: 'staging', version: 'v2' });
      assert.equal(held, 1);
      assert.ok(Date.now() - started < 30_000);
      // The held apply still reached the server later (a 409 or a no-op): the deploy was idempotent either way.
      const d = (await readDeployment(cluster, 'staging', 'svc-slow'))!;
      assert.equal(d.spec.template.spec.containers[0].image, 'registry.example/svc-slow:v2');
      assert.equal(d.status.availableReplicas, 1);
    } finally {
      await proxy.close();
    }
  });

  test('409 on every attempt: a retryable error for the activity retry policy, never a silent success', async () => {
    await cluster.applyYaml(serviceYaml({ service: 'svc-busy', environment: 'staging', replicas: 1 }));
    let n = 0;
    const proxy = await startInterleavingProxy(cluster, async (req) => {
      if (req.method === 'PATCH' && req.url?.includes('/deployments/svc-busy')) {
        await cluster.admin.apps.patchNamespacedDeployment({
          name: 'svc-busy',
          namespace: 'staging',
          body: [{ op: 'add', path: `/metadata/annotations/writer-${++n}`, value: 'yes' }],
        });
      }
    });
    try {
      const deployer = deployerFor(proxy.kubeconfig);
      await assert.rejects(
        deployer.deploy({ service: 'svc-busy', environment: 'staging', version: 'v2' }),
        (err: Error) => {
          assert.ok(err instanceof KubernetesTransientError, err.message);
          assert.match(err.message, /apply Deployment staging\/svc-busy: 409 Conflict/);
          return true;
        },
      );
      assert.equal(n, 5, 'bounded: five attempts');
      const acts = createDeployActivities(deployer);
      await assert.rejects(
        new MockActivityEnvironment().run(acts.deployToEnvironment, {
          service: 'svc-busy',
          environment: 'staging' as const,
          version: 'v2',
        }),
        (err: unknown) => {
          assert.ok(err instanceof ApplicationFailure);
          assert.equal(err.type, FailureType.DeployFailed);
          assert.equal(err.nonRetryable, false);
          return true;
        },
      );
    } finally {
      await proxy.close();
    }
  });
});

describe('node pool free memory, read from the cluster', () => {
  test('allocatable of the schedulable pool nodes minus the requests of their pods (init containers and all)', async () => {
    // A pool of its own: tainted so no other test's pod lands there, plus a cordoned node that must not count.
    await cluster.applyYaml(`apiVersion: v1
kind: Node
metadata:
  name: kwok-capacity-0
  labels: { type: kwok, pool: capacity }
  annotations: { kwok.x-k8s.io/node: fake }
spec:
  taints: [{ key: dedicated, value: capacity, effect: NoSchedule }]
status:
  allocatable: { cpu: "8", memory: 8Gi, pods: "110" }
  capacity: { cpu: "8", memory: 8Gi, pods: "110" }
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-capacity-cordoned
  labels: { type: kwok, pool: capacity }
  annotations: { kwok.x-k8s.io/node: fake }
spec:
  unschedulable: true
  taints: [{ key: dedicated, value: capacity, effect: NoSchedule }]
status:
  allocatable: { cpu: "8", memory: 100Gi, pods: "110" }
  capacity: { cpu: "8", memory: 100Gi, pods: "110" }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: svc-memory, namespace: staging }
spec:
  replicas: 2
  selector: { matchLabels: { app: svc-memory } }
  template:
    metadata: { labels: { app: svc-memory } }
    spec:
      nodeSelector: { pool: capacity }
      tolerations: [{ key: dedicated, value: capacity, effect: NoSchedule }]
      initContainers:
        - { name: migrate, image: registry.example/migrate:1, resources: { requests: { memory: 1536Mi } } }
      containers:
        - { name: app, image: registry.example/svc-memory:v1, resources: { requests: { memory: 1Gi } } }
        - { name: sidecar, image: registry.example/log-shipper:3.1, resources: { requests: { memory: 256Mi } } }
`);
    const kc = cluster.kubeconfig('capacity'); // airlock-capacity-reader: list nodes and pods
    const deadline = Date.now() + 60_000;
    let free = await readNodePoolFreeMemory(kc, { nodeSelector: 'pool=capacity' });
    while (free.requestedBytes < 3n * 2n ** 30n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      free = await readNodePoolFreeMemory(kc, { nodeSelector: 'pool=capacity' });
    }
    // Per pod max(1Gi + 256Mi, 1536Mi) = 1.5Gi; two pods = 3Gi of 8Gi; the cordoned 100Gi does not count.
    assert.equal(free.nodes, 1);
    assert.equal(free.allocatableBytes, 8n * 2n ** 30n);
    assert.equal(free.requestedBytes, 3n * 2n ** 30n);
    assert.equal(free.freeBytes, 5n * 2n ** 30n);
    assert.equal(free.quantity, String(5 * 2 ** 30));
    assert.equal(free.summary, '5Gi free of 8Gi allocatable on 1 node(s)');
  });

  test("the policy gate sees the cluster's figure; an unreadable cluster is a warning, not a silent pass", async () => {
    const policy = parsePolicy(testPolicyYaml({ extra: 'checks:\n  nodePoolFreeMemory: 64Gi\n' }), 'test').policy;
    const seen: (string | undefined)[] = [];
    const checker = async (p: typeof policy) => {
      seen.push(p.checks.nodePoolFreeMemory);
      return [];
    };
    const change = { service: 'svc-memory', commit: 'a'.repeat(40), author: 'airlock-agent[bot]', version: 'v2' };
    const kc = cluster.kubeconfig('capacity');
    assert.deepEqual(
      await withClusterFreeMemory(checker, () => readNodePoolFreeMemory(kc, { nodeSelector: 'pool=capacity' }))(
        policy,
        change,
      ),
      [],
    );
    assert.equal(seen[0], String(5 * 2 ** 30));

    const nowhere = new KubeConfig();
    nowhere.loadFromOptions({
      clusters: [{ name: 'x', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'x' }],
      contexts: [{ name: 'x', cluster: 'x', user: 'x' }],
      currentContext: 'x',
    });
    const findings = await withClusterFreeMemory(checker, () => readNodePoolFreeMemory(nowhere, {}))(policy, change);
    assert.equal(seen[1], '64Gi');
    assert.equal(findings.length, 1);
    assert.equal(findings[0].rule, 'node-pool-unreadable');
    assert.equal(findings[0].level, 'warn');
  });
});

// Issue 15 item 10: the deployer's user holds only the Roles `airlock rbac` generates. Each attack
// is sent as that user to the real API server, whose RBAC authorizer must refuse it.
describe('least privilege: the deployer user against the API server', () => {
  const OTHER = 'other-team-api'; // in the namespace, but no service of the policy
  const path = (name = '') => `/apis/apps/v1/namespaces/production/deployments${name ? `/${name}` : ''}`;
  const deploymentBody = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'production' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/evil:1' }] },
      },
    },
  });
  /** Rejects with the API server's 403 for `verb` on deployments, naming the user. */
  const forbidden = (verb: string) => (err: unknown) => {
    assert.ok(err instanceof ApiException, String(err));
    assert.equal(err.code, 403, JSON.stringify(err.body));
    assert.match(JSON.stringify(err.body), new RegExp(`User \\\\"airlock-deployer\\\\" cannot ${verb} resource`));
    return true;
  };

  test("another service's Deployment can be neither patched, deleted nor created beside it (403); the policy's own service still promotes", async () => {
    // Another team's Deployment, created by the admin with no rights for Airlock's user.
    await cluster.applyYaml(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${OTHER}, namespace: production, labels: { app: ${OTHER} } }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${OTHER} } }
  template:
    metadata: { labels: { app: ${OTHER} } }
    spec: { containers: [{ name: app, image: "registry.example/${OTHER}:v1" }] }
`);
    await cluster.applyYaml(serviceYaml({ service: 'svc-owned', environment: 'production', replicas: 2 }));
    const kc = cluster.kubeconfig('airlock');
    const apply = (name: string) =>
      sendRawJson(kc, {
        method: 'PATCH',
        path: path(name),
        query: { fieldManager: 'airlock', force: 'true' },
        contentType: 'application/apply-patch+yaml',
        body: deploymentBody(name),
      });

    await assert.rejects(apply(OTHER), forbidden('patch'));
    await assert.rejects(
      sendRawJson(kc, {
        method: 'PATCH',
        path: path(OTHER),
        body: { spec: { replicas: 0 } },
        contentType: 'application/merge-patch+json',
      }),
      forbidden('patch'),
    );
    await assert.rejects(sendRawJson(kc, { method: 'DELETE', path: path(OTHER) }), forbidden('delete'));
    // A new name next to the service's own: server-side apply is a PATCH to that name (then a create
    // with that name), refused at the patch already.
    await assert.rejects(apply('svc-owned-evil'), forbidden('patch'));
    // A POST carries no name for RBAC to match, so even the service's own name is refused that way.
    await assert.rejects(
      sendRawJson(kc, { method: 'POST', path: path(), body: deploymentBody('svc-owned-canary') }),
      forbidden('create'),
    );
    // Nor can the user find the namespace's other Deployments: list cannot be narrowed by name.
    await assert.rejects(sendRawJson(kc, { method: 'GET', path: path() }), forbidden('list'));
    // Through the deployer, a promotion naming the other Deployment is a non-retryable 403.
    const deployer = deployerAs(cluster);
    await assert.rejects(deployer.deployCanary({ service: OTHER, version: 'v2', percent: 10 }), (err: Error) => {
      assert.ok(err instanceof DeployRejectedError, err.message);
      assert.match(err.message, /Deployment production\/other-team-api refused: 403 Forbidden/);
      return true;
    });
    const untouched = (await readDeployment(cluster, 'production', OTHER))!;
    assert.equal(untouched.spec.replicas, 1);
    assert.equal(untouched.spec.template.spec.containers[0].image, `registry.example/${OTHER}:v1`);
    assert.equal(
      untouched.metadata.managedFields?.some((f) => f.manager === FIELD_MANAGER),
      false,
    );
    assert.equal(await readDeployment(cluster, 'production', 'svc-owned-evil'), null);

    // The legitimate path with the same user: canary created (apply as create), promoted, canary deleted.
    await deployer.deployCanary({ service: 'svc-owned', version: 'v2', percent: 10 });
    await deployer.promote({ service: 'svc-owned', version: 'v2' });
    assert.deepEqual(await readyPodImages(cluster, 'production', 'app=svc-owned'), {
      'registry.example/svc-owned:v2': 2,
    });
    assert.equal(await readDeployment(cluster, 'production', canaryName('svc-owned')), null);
  });

  test('listing pods in all namespaces is forbidden to the deployer; the free-memory reading then says what it could not see', async () => {
    const core = cluster.kubeconfig('airlock').makeApiClient(CoreV1Api);
    await assert.rejects(core.listPodForAllNamespaces(), (err: unknown) => {
      assert.ok(err instanceof ApiException && err.code === 403, String(err));
      return true;
    });
    await assert.rejects(core.listNamespacedPod({ namespace: 'production' }), (err: unknown) => {
      assert.ok(err instanceof ApiException && err.code === 403, String(err));
      return true;
    });
    // The deployer's identity: not even the nodes.
    await assert.rejects(readNodePoolFreeMemory(cluster.kubeconfig('airlock'), {}), (err: Error) => {
      assert.ok(err instanceof CapacityForbiddenError, err.message);
      assert.match(err.message, /kubeconfig user "airlock" \(context airlock\) may not list nodes \(403 Forbidden\)/);
      assert.match(err.message, /free memory of the node pool is unknown; bind ClusterRole airlock-capacity-reader/);
      return true;
    });
    // An identity that may read nodes but not every namespace's pods: the pods it cannot see are
    // not counted as free; the reading fails and names them.
    await cluster.applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: nodes-only }
rules: [{ apiGroups: [""], resources: [nodes], verbs: [list] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: read-only-nodes }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nodes-only }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: read-only }]
`);
    await assert.rejects(readNodePoolFreeMemory(cluster.kubeconfig('read-only'), {}), (err: Error) => {
      assert.ok(err instanceof CapacityForbiddenError, err.message);
      assert.match(err.message, /may not list pods in all namespaces \(the memory requests of other namespaces' pods/);
      return true;
    });

    // At the gate: a warning that says why, and the policy's own figure, never a cluster figure.
    const policy = parsePolicy(testPolicyYaml({ extra: 'checks:\n  nodePoolFreeMemory: 64Gi\n' }), 'test').policy;
    const seen: (string | undefined)[] = [];
    const change = { service: 'svc-memory', commit: 'a'.repeat(40), author: 'airlock-agent[bot]', version: 'v2' };
    const findings = await withClusterFreeMemory(
      async (p) => {
        seen.push(p.checks.nodePoolFreeMemory);
        return [];
      },
      () => readNodePoolFreeMemory(cluster.kubeconfig('read-only'), {}),
    )(policy, change);
    assert.deepEqual(seen, ['64Gi']);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].rule, 'node-pool-unreadable');
    assert.match(
      findings[0].message,
      /may not list pods in all namespaces.*the memory-capacity rule used the policy's 64Gi/,
    );
  });
});
