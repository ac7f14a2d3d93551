// The object set against a real API server (etcd, kube-apiserver, controller-manager, scheduler,
// kwok), as the deployer user with docs' RBAC: for each kind of change of the story, diff,
// snapshot, apply, readiness, and a restore that gives back exactly the snapshot; and the refusals
// (scope, invalid objects) that change nothing, and cancellation mid-apply.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { prepareCluster } from './fixtures';
import { configMap, deployment, grantObjectSetRights, render, service } from './object-set-fixtures';
import { startInterleavingProxy } from './interleaving-proxy';
import { getRawJson } from '../../src/integrations/kubernetes/kubernetes-raw';
import { DeployRejectedError } from '../../src/integrations/deployer';
import { applyObjects } from '../../src/integrations/kubernetes/object-set-apply';
import { diffObjects, type ObjectAction } from '../../src/integrations/kubernetes/object-set-diff';
import { restoreObjects } from '../../src/integrations/kubernetes/object-set-restore';
import { snapshotObjects, type ObjectSnapshot } from '../../src/integrations/kubernetes/object-set-snapshot';
import { stripServerFields } from '../../src/integrations/kubernetes/object-set-strip';
import {
  ObjectRejectedError,
  SERVICE_LABEL,
  type Json,
  type ObjectId,
} from '../../src/integrations/kubernetes/object-set';

const NS = 'staging';
const FAST = { pollMs: 200, timeoutMs: 120_000 };

let cluster: TestCluster;
let kc: KubeConfig;
beforeAll(async () => {
  cluster = await startTestCluster();
  await prepareCluster(cluster);
  await grantObjectSetRights(cluster);
  kc = cluster.kubeconfig('airlock');
});
afterAll(async () => {
  await cluster?.teardown();
});

const plural: Record<string, string> = { ConfigMap: 'configmaps', Service: 'services', Deployment: 'deployments' };
const pathOf = (id: ObjectId) =>
  `${id.apiVersion.includes('/') ? `/apis/${id.apiVersion}` : `/api/${id.apiVersion}`}/namespaces/${id.namespace}/${plural[id.kind]}/${id.name}`;

/** The object as the admin reads it, or null. */
async function live(id: ObjectId): Promise<Json | null> {
  try {
    return await getRawJson(cluster.kubeconfig('admin'), pathOf(id));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return null;
    throw err;
  }
}

async function assertReady(namespace: string, name: string) {
  const d = await cluster.admin.apps.readNamespacedDeployment({ name, namespace });
  assert.equal(d.status?.observedGeneration, d.metadata?.generation, `${name}: generation observed`);
  assert.equal(d.status?.updatedReplicas, d.spec?.replicas, `${name}: all replicas updated`);
  assert.equal(d.status?.availableReplicas, d.spec?.replicas, `${name}: all replicas available`);
  assert.equal(d.status?.replicas, d.spec?.replicas, `${name}: no old replicas`);
}

/** Every snapshotted object is live again, equal but for server-managed fields; absent ones are gone. */
async function assertRestored(snapshot: ObjectSnapshot[]) {
  for (const s of snapshot) {
    const now = await live(s.id);
    if (s.object === null) assert.equal(now, null, `${s.id.kind}/${s.id.name} was created by the change: deleted`);
    else {
      assert.ok(now, `${s.id.kind}/${s.id.name} exists again`);
      assert.deepEqual(stripServerFields(now), stripServerFields(s.object), `${s.id.kind}/${s.id.name} as snapshotted`);
    }
  }
}

const actions = (objects: { id: ObjectId; action: ObjectAction }[]) =>
  Object.fromEntries(objects.map((o) => [`${o.id.kind}/${o.id.name}`, o.action]));

/**
 * The whole round trip of one change: baseline applied, diff (its actions asserted), snapshot,
 * apply (ready, converged: a second diff is all unchanged), restore (exactly the snapshot).
 */
async function roundTrip(
  name: string,
  before: KubernetesObject[],
  after: KubernetesObject[],
  expected: Record<string, ObjectAction>,
  check: () => Promise<void>,
) {
  if (before.length) await applyObjects(kc, { namespace: NS, service: name, desired: before }, FAST);
  const set = { namespace: NS, service: name, desired: after };
  const diff = await diffObjects(kc, set);
  assert.deepEqual(actions(diff.objects), expected);
  assert.match(diff.digest, /^[0-9a-f]{64}$/);
  assert.equal(
    (await diffObjects(kc, set)).digest,
    diff.digest,
    'the same change on the same live state: the same digest',
  );
  const snapshot = await snapshotObjects(
    kc,
    diff.objects.map((o) => o.id),
  );
  for (const s of snapshot) assert.equal((s.object?.metadata as Json | undefined)?.managedFields, undefined);
  await applyObjects(kc, set, FAST);
  await assertReady(NS, name);
  await check();
  const again = await diffObjects(kc, set);
  assert.ok(
    again.objects.every((o) => o.action === 'unchanged'),
    `live equals the render after apply: ${JSON.stringify(actions(again.objects))}\n${again.text}`,
  );
  assert.equal(again.text, '');
  await restoreObjects(kc, snapshot, FAST);
  await assertRestored(snapshot);
  await assertReady(NS, name);
  return diff;
}

const id = (kind: string, name: string): ObjectId => ({
  apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
  kind,
  namespace: NS,
  name,
});
const containerOf = async (name: string) =>
  ((await live(id('Deployment', name))) as { spec: { template: { spec: { containers: Json[] } } } }).spec.template.spec
    .containers[0];

describe('changes of the story: diff, snapshot, apply, ready, exact restore', () => {
  const unchangedBut = (name: string, changed: Record<string, ObjectAction>) => ({
    [`ConfigMap/${name}-config`]: 'unchanged' as ObjectAction,
    [`Service/${name}`]: 'unchanged' as ObjectAction,
    [`Deployment/${name}`]: 'unchanged' as ObjectAction,
    ...changed,
  });

  test('liveness probe change', async () => {
    const name = 'probe-svc';
    const diff = await roundTrip(
      name,
      render(NS, name),
      render(NS, name, { probePath: '/livez' }),
      unchangedBut(name, { [`Deployment/${name}`]: 'update' }),
      async () =>
        assert.equal(
          (await containerOf(name)).livenessProbe &&
            ((await containerOf(name)) as { livenessProbe: { httpGet: { path: string } } }).livenessProbe.httpGet.path,
          '/livez',
        ),
    );
    assert.match(diff.text, /^-\s+path: \/healthz$/m);
    assert.match(diff.text, /^\+\s+path: \/livez$/m);
    assert.doesNotMatch(diff.text, /resourceVersion|managedFields|creationTimestamp|uid:/);
  });

  test('memory change (with an added variable, which restore removes again)', async () => {
    const name = 'memory-svc';
    const diff = await roundTrip(
      name,
      render(NS, name),
      render(NS, name, { memory: '256Mi', env: { NEW_FLAG: 'on' } }),
      unchangedBut(name, { [`Deployment/${name}`]: 'update' }),
      async () =>
        assert.equal(
          ((await containerOf(name)) as { resources: { requests: { memory: string } } }).resources.requests.memory,
          '256Mi',
        ),
    );
    assert.match(diff.text, /^\+\s+memory: 256Mi$/m);
  });

  test('replicas', async () => {
    const name = 'replicas-svc';
    await roundTrip(
      name,
      render(NS, name, { replicas: 2 }),
      render(NS, name, { replicas: 4 }),
      unchangedBut(name, { [`Deployment/${name}`]: 'update' }),
      async () =>
        assert.equal((await cluster.admin.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas, 4),
    );
  });

  test('a ConfigMap edit, of a ConfigMap Airlock did not create (its label goes again on restore)', async () => {
    const name = 'config-svc';
    await applyObjects(
      kc,
      {
        namespace: NS,
        service: name,
        desired: render(NS, name)
          .filter((o) => o.kind !== 'ConfigMap')
          .concat(configMap(NS, `${name}-config`, { LOG_LEVEL: 'info' })),
      },
      FAST,
    );
    // Someone else's ConfigMap of the same name: no airlock label, a key Airlock does not render.
    await cluster.admin.core.replaceNamespacedConfigMap({
      name: `${name}-config`,
      namespace: NS,
      body: { metadata: { name: `${name}-config`, namespace: NS }, data: { LOG_LEVEL: 'info', OWNER: 'ops' } },
    });
    await roundTrip(
      name,
      [],
      render(NS, name, { config: { LOG_LEVEL: 'debug' } }),
      unchangedBut(name, { [`ConfigMap/${name}-config`]: 'update' }),
      async () => {
        const cm = (await live(id('ConfigMap', `${name}-config`))) as {
          data: Record<string, string>;
          metadata: { labels?: Record<string, string> };
        };
        assert.equal(cm.data.LOG_LEVEL, 'debug');
        assert.equal(cm.metadata.labels?.[SERVICE_LABEL], name);
      },
    );
    const cm = (await live(id('ConfigMap', `${name}-config`))) as {
      data: Record<string, string>;
      metadata: { labels?: Record<string, string> };
    };
    assert.deepEqual(cm.data, { LOG_LEVEL: 'info', OWNER: 'ops' });
    assert.equal(cm.metadata.labels?.[SERVICE_LABEL], undefined, 'the label the change added is gone');
  });

  test('a new Service', async () => {
    const name = 'new-svc';
    const diff = await roundTrip(
      name,
      render(NS, name),
      render(NS, name, { extraServices: [`${name}-admin`] }),
      unchangedBut(name, { [`Service/${name}-admin`]: 'create' }),
      async () => assert.ok(await live(id('Service', `${name}-admin`))),
    );
    assert.match(diff.text, /^--- \/dev\/null$/m);
    assert.doesNotMatch(diff.text, /clusterIP: /, 'allocated per create: not in the diff');
  });

  test('a deleted object (a Service the render no longer has), and only the service’s own objects are pruned', async () => {
    const name = 'deleted-svc';
    // Another service's Service and an unlabelled one in the namespace: never Airlock's to prune.
    await applyObjects(
      kc,
      { namespace: NS, service: 'neighbour', desired: [service(NS, 'neighbour', 'neighbour')] },
      FAST,
    );
    await cluster.applyYaml(
      `apiVersion: v1\nkind: Service\nmetadata: { name: hand-made, namespace: ${NS} }\nspec: { selector: { app: ${name} }, ports: [{ port: 80 }] }\n`,
    );
    await roundTrip(
      name,
      render(NS, name, { extraServices: [`${name}-legacy`] }),
      render(NS, name),
      unchangedBut(name, { [`Service/${name}-legacy`]: 'delete' }),
      async () => {
        assert.equal(await live(id('Service', `${name}-legacy`)), null);
        assert.ok(await live(id('Service', 'neighbour')), "another service's object is left alone");
        assert.ok(await live(id('Service', 'hand-made')), 'an unlabelled object is left alone');
      },
    );
  });

  test('a removed Deployment goes with its pods, and comes back on restore', async () => {
    const name = 'gone-svc';
    const before = [...render(NS, name), deployment(NS, `${name}-worker`, { replicas: 1 })];
    await roundTrip(
      name,
      before,
      render(NS, name),
      unchangedBut(name, { [`Deployment/${name}-worker`]: 'delete' }),
      async () => {
        assert.equal(await live(id('Deployment', `${name}-worker`)), null);
      },
    );
    await assertReady(NS, `${name}-worker`);
  });

  test('a Job the change deleted is created anew on restore (its old selector and uid labels would be refused)', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate-once', namespace: NS },
      spec: {
        template: {
          metadata: { labels: { app: 'migrate' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'registry.example/migrate:1' }] },
        },
      },
    };
    await cluster.applyYaml(JSON.stringify(job));
    const jobId = { apiVersion: 'batch/v1', kind: 'Job', namespace: NS, name: 'migrate-once' };
    const snapshot = await snapshotObjects(kc, [jobId]);
    const selector = (snapshot[0].object as { spec: { selector: Json } }).spec.selector;
    assert.ok(selector, 'the server gave the Job a selector derived from its uid');
    await cluster.admin.objects.delete(
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate-once', namespace: NS } },
      undefined,
      undefined,
      undefined,
      undefined,
      'Background',
    );
    await waitUntil(async () => (await getJob()) === null, 'the Job is gone');
    // The test cluster runs no Job controller, so the Job never completes: the restore's wait for
    // it times out after the write. What is checked is that the write was accepted.
    await assert.rejects(restoreObjects(kc, snapshot, { pollMs: 200, timeoutMs: 3_000 }), /completions/);
    const again = (await getJob()) as { metadata: { uid: string }; spec: { template: Json } } | null;
    assert.ok(again, 'the Job is back');
    assert.notEqual(again.metadata.uid, (snapshot[0].object as { metadata: { uid: string } }).metadata.uid);
    const containers = ((again.spec.template as Json).spec as { containers: { image: string }[] }).containers;
    assert.equal(containers[0].image, 'registry.example/migrate:1', 'as snapshotted');
    async function getJob() {
      try {
        return await getRawJson(cluster.kubeconfig('admin'), `/apis/batch/v1/namespaces/${NS}/jobs/migrate-once`);
      } catch (err) {
        if ((err as { code?: number }).code === 404) return null;
        throw err;
      }
    }
  });
});

async function waitUntil(ok: () => Promise<boolean>, what: string, ms = 30_000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200)))
    if (await ok()) return;
  throw new Error(`timed out waiting until ${what}`);
}

describe('refusals change nothing', () => {
  /** A proxy that counts every request the object set sends, by method. */
  async function counting() {
    const arrived: { method: string; path: string }[] = [];
    const proxy = await startInterleavingProxy(cluster, async (req) => {
      arrived.push({ method: req.method ?? '?', path: req.url ?? '?' });
    });
    const writes = () => arrived.filter((a) => a.method !== 'GET' && !a.path.includes('dryRun=All'));
    return { proxy, arrived, writes };
  }

  test('an object of another namespace, a cluster-scoped kind and a Secret: refused by name, nothing sent', async () => {
    const { proxy, arrived } = await counting();
    try {
      const desired = [
        ...render(NS, 'scope-svc'),
        configMap('production', 'elsewhere', { a: 'b' }),
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'wide' }, rules: [] },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: NS }, data: { p: 'cA==' } },
      ] as KubernetesObject[];
      await assert.rejects(
        applyObjects(proxy.kubeconfig, { namespace: NS, service: 'scope-svc', desired }, FAST),
        (err: Error) => {
          assert.ok(err instanceof ObjectRejectedError && err instanceof DeployRejectedError);
          assert.equal((err as ObjectRejectedError).nonRetryable, true);
          assert.match(
            err.message,
            /ConfigMap\/elsewhere: in namespace production, not in the environment's namespace staging/,
          );
          assert.match(err.message, /ClusterRole\/wide: cluster-scoped kind/);
          assert.match(err.message, /Secret\/creds: Secrets are refused/);
          return true;
        },
      );
      assert.deepEqual(arrived, [], 'refused before any request');
      assert.equal(await live(id('Deployment', 'scope-svc')), null);
      await assert.rejects(
        diffObjects(proxy.kubeconfig, { namespace: NS, service: 'scope-svc', desired }),
        ObjectRejectedError,
      );
      await assert.rejects(snapshotObjects(proxy.kubeconfig, [id('Secret', 'creds')]), /Secrets are never snapshotted/);
    } finally {
      await proxy.close();
    }
  });

  test('an invalid object (422): the error names it and the server’s reason; no object of the set is written', async () => {
    const { proxy, writes } = await counting();
    try {
      const bad = deployment(NS, 'invalid-svc') as KubernetesObject & { spec: { replicas: number } };
      bad.spec.replicas = -1;
      const desired = [...render(NS, 'invalid-svc').filter((o) => o.kind !== 'Deployment'), bad];
      await assert.rejects(
        applyObjects(proxy.kubeconfig, { namespace: NS, service: 'invalid-svc', desired }, FAST),
        (err: Error) => {
          assert.ok(err instanceof DeployRejectedError, String(err));
          assert.match(err.message, /Deployment staging\/invalid-svc refused: 422 Invalid: .*spec\.replicas/);
          return true;
        },
      );
      assert.deepEqual(writes(), []);
      assert.equal(await live(id('ConfigMap', 'invalid-svc-config')), null, 'the ConfigMap before it is not applied');
      assert.equal(await live(id('Service', 'invalid-svc')), null);
    } finally {
      await proxy.close();
    }
  });

  test("an object live under another service's label is not taken over", async () => {
    await applyObjects(
      kc,
      { namespace: NS, service: 'owner-a', desired: [configMap(NS, 'shared-config', { a: '1' })] },
      FAST,
    );
    await assert.rejects(
      diffObjects(kc, { namespace: NS, service: 'owner-b', desired: [configMap(NS, 'shared-config', { a: '2' })] }),
      /ConfigMap staging\/shared-config is live with airlock.dev\/service=owner-a/,
    );
  });
});

describe('cancellation', () => {
  test('an abort mid-apply stops at once: no request after it', async () => {
    const name = 'abort-svc';
    const controller = new AbortController();
    const arrived: { method: string; path: string; afterAbort: boolean }[] = [];
    const proxy = await startInterleavingProxy(cluster, async (req) => {
      const a = { method: req.method ?? '?', path: req.url ?? '?', afterAbort: controller.signal.aborted };
      arrived.push(a);
      // The second real apply: the first object is written, the rest must never be.
      if (
        req.method === 'PATCH' &&
        !a.path.includes('dryRun') &&
        arrived.filter((x) => x.method === 'PATCH' && !x.path.includes('dryRun')).length === 2
      )
        controller.abort(new Error('cancelled by test'));
    });
    try {
      const desired = render(NS, name, { extraServices: [`${name}-a`, `${name}-b`] });
      await assert.rejects(
        applyObjects(
          proxy.kubeconfig,
          { namespace: NS, service: name, desired },
          { ...FAST, signal: controller.signal },
        ),
        /cancelled by test/,
      );
      await new Promise((r) => setTimeout(r, 1_500));
      assert.deepEqual(
        arrived.filter((a) => a.afterAbort),
        [],
        'nothing sent after the abort',
      );
      assert.equal(await live(id('Deployment', name)), null, 'the Deployment (later in apply order) never written');
    } finally {
      await proxy.close();
    }
  });
});
