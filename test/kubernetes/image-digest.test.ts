// Production receives the image that ran in staging, not whatever its tag names a day later. kwok
// runs the test cluster's pods but reports no imageID, so the test plays the kubelet: it patches
// each new pod's status (the status subresource) with the digest its fake registry serves for the
// pod's image at that moment, as a kubelet reports what it pulled. The Deployments have
// minReadySeconds, so the report lands before the rollout counts as available.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../helpers/tools';
import { createKubernetesDeployer } from '../../src/integrations/kubernetes/kubernetes-deployer';
import { createChangeDeployer } from '../../src/integrations/change-deployer';
import { kubernetesSchema } from '../../src/policy/config/kubernetes-schema';
import { getRawJson } from '../../src/integrations/kubernetes/kubernetes-raw';
import { createTestRepo, type TestRepo } from './render-repo';
import { caseNamespaces } from './case-namespaces';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { canaryName } from '../../src/integrations/kubernetes/kubernetes-deployer';
import { DeployRejectedError } from '../../src/integrations/deployer';
import { stagedImageLines } from '../../src/common/staged-image-lines';
import type { Environment } from '../../src/workflows/messages';
import { deployerAs, NAMESPACE, prepareCluster, readDeployment, serviceYaml } from './fixtures';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
  await prepareCluster(cluster);
  await cluster.applyYaml(readFileSync(resolve(REPO_ROOT, 'docs/kubernetes-object-set-rbac.yaml'), 'utf8'));
});
const repos: TestRepo[] = [];
afterAll(async () => {
  for (const r of repos) r.remove();
  await cluster?.teardown();
});

/**
 * The kubelet's imageID report for pods of `service`: `registry(image, pod)` is the digest the
 * registry serves for that image now (undefined: report nothing, as kwok does). A reference that
 * names a digest is pulled by it. Returns a stop function.
 */
function playKubelet(
  service: string,
  registry: (image: string) => string | undefined,
  namespaces: string[] = Object.values(NAMESPACE),
): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const namespace of namespaces) {
        const pods = await cluster.admin.core.listNamespacedPod({ namespace, labelSelector: `app=${service}` });
        for (const pod of pods.items) {
          const statuses = pod.status?.containerStatuses;
          if (!statuses?.length || statuses.some((s) => s.imageID) || pod.metadata?.deletionTimestamp) continue;
          const value = statuses.map((s) => {
            const image = pod.spec!.containers.find((c) => c.name === s.name)!.image!;
            const at = image.indexOf('@');
            const digest = at > 0 ? image.slice(at + 1) : registry(image);
            const repository = (at > 0 ? image.slice(0, at) : image).replace(/:[^/:]+$/, '');
            return { ...s, imageID: digest ? `docker-pullable://${repository}@${digest}` : '' };
          });
          if (!value.some((s) => s.imageID)) continue; // nothing to report (kwok's empty imageID stays)
          await cluster.admin.core
            .patchNamespacedPodStatus({
              name: pod.metadata!.name!,
              namespace,
              body: [{ op: 'replace', path: '/status/containerStatuses', value }],
            })
            .catch(() => undefined); // the pod went away meanwhile
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** A service in both environments whose pods become available 2 s after they are Ready. */
async function createService(service: string): Promise<void> {
  for (const environment of ['staging', 'production'] as Environment[])
    await cluster.applyYaml(
      serviceYaml({ service, environment, replicas: 3 }).replace(
        'spec:\n  replicas:',
        'spec:\n  minReadySeconds: 2\n  replicas:',
      ),
    );
}

const appImage = async (environment: Environment, name: string) =>
  (await readDeployment(cluster, environment, name))!.spec.template.spec.containers.find((c) => c.name === 'app')!
    .image;

describe('production receives the digest that ran in staging', () => {
  test('the tag moves after staging: the canary and the rollout still deploy staging’s digest', async () => {
    const service = 'digest-moved';
    await createService(service);
    let served = A;
    const stop = playKubelet(service, (image) => (image.endsWith(':v2') ? served : undefined));
    try {
      const deployer = deployerAs(cluster);
      const staged = await deployer.deploy({ service, environment: 'staging', version: 'v2' });
      assert.deepEqual(staged.images, [
        { reference: `registry.example/${service}:v2`, containers: ['app'], digest: A },
      ]);
      assert.match(staged.summary, /runs sha256:aaaa/);

      served = B; // the tag is re-pushed a day later: pulling :v2 now gets unbaked code
      const canary = await deployer.deployCanary({ service, version: 'v2', percent: 10, images: staged.images });
      assert.equal(await appImage('production', canaryName(service)), `registry.example/${service}:v2@${A}`);
      assert.match(canary.summary, /app at staging's digest sha256:aaaa/);
      const promoted = await deployer.promote({ service, version: 'v2', images: staged.images });
      assert.equal(await appImage('production', service), `registry.example/${service}:v2@${A}`);
      assert.match(promoted.summary, /app at staging's digest sha256:aaaa/);
      const sidecar = (await readDeployment(cluster, 'production', service))!.spec.template.spec.containers[1];
      assert.equal(sidecar.image, 'registry.example/log-shipper:3.1', 'only the versioned container is pinned');
      assert.deepEqual(stagedImageLines(staged.images).mutable, []);
    } finally {
      await stop();
    }
  });

  test('no pod reports a digest: production gets the mutable tag, and approvers are told so', async () => {
    const service = 'digest-mutable';
    await createService(service);
    const deployer = deployerAs(cluster);
    const staged = await deployer.deploy({ service, environment: 'staging', version: 'v2' });
    assert.equal(staged.images?.length, 1);
    assert.equal(staged.images![0].digest, undefined);
    assert.match(staged.images![0].unpinned ?? '', /3 of 3 container\(s\) reported no registry digest: no imageID/);
    const canary = await deployer.deployCanary({ service, version: 'v2', percent: 10, images: staged.images });
    assert.equal(await appImage('production', canaryName(service)), `registry.example/${service}:v2`);
    assert.match(canary.summary, /app by mutable registry\.example\/digest-mutable:v2/);
    assert.deepEqual(stagedImageLines(staged.images).mutable, [
      `only the mutable tag registry.example/${service}:v2 was available (${staged.images![0].unpinned}): production may receive a different image than staging ran`,
    ]);
    await deployer.promote({ service, version: 'v2', images: staged.images });
  });

  test('staged pods disagree (the tag moved during the rollout): the staging deploy is refused', async () => {
    const service = 'digest-split';
    await createService(service);
    let pulls = 0;
    const stop = playKubelet(service, (image) => (image.endsWith(':v2') ? (pulls++ % 2 ? B : A) : undefined));
    try {
      const deployer = deployerAs(cluster);
      await assert.rejects(deployer.deploy({ service, environment: 'staging', version: 'v2' }), (err: Error) => {
        assert.ok(err instanceof DeployRejectedError, String(err));
        assert.match(err.message, /pods of registry\.example\/digest-split:v2 run 2 different images/);
        assert.match(err.message, /sha256:aaaa.* on \d, sha256:bbbb.* on \d|sha256:bbbb.* on \d, sha256:aaaa.* on \d/);
        return true;
      });
    } finally {
      await stop();
    }
  });
});

/** A service rendered from plain manifests: one Deployment whose `app` container runs `image`. */
const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: digest-rendered, labels: { app: digest-rendered } }
spec:
  replicas: 2
  minReadySeconds: 2
  selector: { matchLabels: { app: digest-rendered } }
  template:
    metadata: { labels: { app: digest-rendered } }
    spec:
      containers:
        - name: app
          image: ${image}
          resources: { requests: { memory: 32Mi, cpu: 10m } }
`;

describe('services rendered from the repository (object sets) are pinned too', () => {
  test('the tag moves after staging: the preview approvers sign, the canary and the rollout carry staging’s digest', async () => {
    const service = 'digest-rendered';
    const ns = await caseNamespaces(cluster).create('digest', 1);
    const repo = createTestRepo();
    repos.push(repo);
    const baseCommit = repo.commit(
      { 'deploy/app/deployment.yaml': manifest('registry.example/digest-rendered:v1') },
      'base',
    );
    const commit = repo.commit({ 'deploy/app/deployment.yaml': manifest('registry.example/digest-rendered:v2') }, 'v2');
    const settings = kubernetesSchema.parse({
      staging: { namespace: ns.staging },
      production: { namespace: ns.production },
      rolloutTimeoutMinutes: 2,
    });
    const kubeconfig = cluster.kubeconfig('airlock');
    const deployer = createChangeDeployer({
      kubeconfig,
      settings: () => settings,
      services: () => [
        {
          name: service,
          environments: {
            staging: { kubernetes: { manifests: 'deploy/app' } },
            production: { kubernetes: { manifests: 'deploy/app' } },
          },
        },
      ],
      repoDir: repo.dir,
      imageDeployer: createKubernetesDeployer({ kubeconfig, settings: () => settings, pollMs: 200 }),
      pollMs: 200,
    });
    let served = A;
    const stop = playKubelet(service, (image) => (image.endsWith(':v2') ? served : undefined), Object.values(ns));
    const liveImage = async (namespace: string, name: string) =>
      (
        await getRawJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
          cluster.kubeconfig('admin'),
          `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
        )
      ).spec.template.spec.containers[0].image;
    try {
      const base = { commit: baseCommit };
      await deployer.deploy({ service, environment: 'staging', version: 'base', change: base });
      await deployer.promote({ service, version: 'base', change: base });
      const change = { commit, baseCommit };
      const staged = await deployer.deploy({ service, environment: 'staging', version: 'v2', change });
      assert.deepEqual(staged.images, [
        { reference: 'registry.example/digest-rendered:v2', containers: ['app'], digest: A },
      ]);

      served = B; // re-pushed during the bake
      const pinned = `registry.example/digest-rendered:v2@${A}`;
      const preview = await deployer.preview!({ service, environment: 'production', change, images: staged.images });
      assert.ok(preview!.text.includes(`image: ${pinned}`), preview!.text);
      assert.ok(
        preview!.notes.some(
          (n) => n === `Deployment ${ns.production}/${service} app at staging's digest ${A.slice(0, 19)}…`,
        ),
        preview!.notes.join('\n'),
      );
      const unpinned = await deployer.preview!({ service, environment: 'production', change });
      assert.notEqual(unpinned!.digest, preview!.digest, 'the signed diff binds the digest');
      await deployer.deployCanary({ service, version: 'v2', percent: 10, change, images: staged.images });
      assert.equal(await liveImage(ns.production, `${service}-canary`), pinned);
      await deployer.promote({ service, version: 'v2', change, images: staged.images });
      assert.equal(await liveImage(ns.production, service), pinned);
    } finally {
      await stop();
      await caseNamespaces(cluster).removeWorkloads(ns);
    }
  });
});
