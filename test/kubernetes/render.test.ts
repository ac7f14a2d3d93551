// renderKubernetes with the pinned kustomize and Helm builds on a throwaway repo shaped like the
// story's: the exact objects each environment gets at the base and head commits, render errors
// that name the file (nothing else done), cancellation, and a clone that is never written.
// No cluster needed: this tier is where tests of the built infrastructure tools live.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesSource } from '../../src/policy/config/environment-source-schema';
import {
  CommitNotFoundError,
  compareRenders,
  objectIdentity,
  renderKubernetes,
  RenderError,
  renderToolPath,
  type RenderedObject,
  type RenderOptions,
} from '../../src/integrations/render';
import { renderToolExecutable } from '../helpers/tools';
import { backgroundBuildDone } from '../helpers/background-build';
import { BASE_FILES, createTestRepo, HEAD_CHANGES, type TestRepo } from './render-repo';

// setup.sh builds kustomize and Helm in the background: the paths are read once that is done.
const tools = {
  get kustomize() {
    return renderToolExecutable('kustomize');
  },
  get helm() {
    return renderToolExecutable('helm');
  },
};
beforeAll(() => backgroundBuildDone(), 45 * 60_000);

const STAGING_OVERLAY: KubernetesSource = { kustomize: 'k8s/overlays/staging' };
const PRODUCTION_OVERLAY: KubernetesSource = { kustomize: 'k8s/overlays/production' };
const chart = (env: 'staging' | 'production'): KubernetesSource => ({
  helm: {
    chart: 'charts/search-service',
    values: [`charts/search-service/values-${env}.yaml`],
    releaseName: 'search-service',
  },
});
const PAYMENT_MANIFESTS: KubernetesSource = { manifests: 'deploy/payment-service' };

let repo: TestRepo;
let base: string;
let head: string;
let scratch: string;
let savedTmpdir: string | undefined;

/** Everything about the clone a render could change: HEAD, the index bytes, the working tree status. */
function cloneState() {
  return {
    head: repo.git('rev-parse', 'HEAD'),
    branch: repo.git('symbolic-ref', 'HEAD'),
    status: repo.git('status', '--porcelain'),
    index: createHash('sha256')
      .update(readFileSync(join(repo.dir, '.git/index')))
      .digest('hex'),
  };
}

function render(source: KubernetesSource, commit: string, extra: Partial<RenderOptions> = {}) {
  return renderKubernetes(source, { repoDir: repo.dir, commit, namespace: 'notify-prod', tools, ...extra });
}

function byIdentity(rendered: RenderedObject[]): Map<string, RenderedObject> {
  return new Map(rendered.map((r) => [objectIdentity(r.object), r]));
}

/** The one rendered object with this identity (fails the test when it is missing). */
function find(rendered: RenderedObject[], identity: string): RenderedObject {
  const found = byIdentity(rendered).get(identity);
  if (!found) expect.fail(`${identity} not rendered; got ${[...byIdentity(rendered).keys()].join(', ')}`);
  return found;
}

type Container = { name: string; resources?: { limits?: { memory?: string } }; livenessProbe?: unknown };
const containers = (r: RenderedObject) =>
  (r.object.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;

beforeAll(() => {
  repo = createTestRepo();
  base = repo.commit(BASE_FILES, 'base: the services as they run');
  head = repo.commit(HEAD_CHANGES, 'agent: probe, memory, replicas, search memory, payment config');
  // Every temporary tree of a render lands here, so the tests can see that none is left behind.
  scratch = mkdtempSync(join(tmpdir(), 'airlock-render-test-'));
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
});

afterEach(() => {
  expect(readdirSync(scratch), 'a render left its temporary tree behind').toEqual([]);
});

afterAll(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  repo?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

describe('kustomize overlays', () => {
  test('production at head: replicas 17 from the overlay, memory 2Gi from its patch, probe failureThreshold 1 from the base', async () => {
    const rendered = await render(PRODUCTION_OVERLAY, head);
    expect(rendered.map((r) => objectIdentity(r.object))).toEqual([
      expect.stringMatching(/^v1\/ConfigMap\/notify-prod\/notification-config-[a-z0-9]{10}$/),
      'v1/Service/notify-prod/notification-service',
      'apps/v1/Deployment/notify-prod/notification-service',
    ]);
    const deployment = find(rendered, 'apps/v1/Deployment/notify-prod/notification-service');
    expect(deployment).toEqual({
      source: 'k8s/base/notification-service/deployment.yaml',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        // No config.kubernetes.io/origin left: Airlock asked for it only to learn the source.
        metadata: { name: 'notification-service', namespace: 'notify-prod', labels: { app: 'notification-service' } },
        spec: {
          replicas: 17,
          selector: { matchLabels: { app: 'notification-service' } },
          template: {
            metadata: { labels: { app: 'notification-service' } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'registry.example/notification-service:1.4.0',
                  resources: { limits: { memory: '2Gi' } },
                  livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, failureThreshold: 1 },
                },
              ],
            },
          },
        },
      },
    });
    expect(rendered[0].source).toBe('k8s/base/notification-service/kustomization.yaml');
    expect(rendered[0].object.data).toEqual({ SMTP_HOST: 'smtp.internal' });
    expect(rendered[1].source).toBe('k8s/base/notification-service/service.yaml');
    for (const r of rendered) expect(r.object.metadata.annotations).toBeUndefined();
  });

  test('production at base and staging at both commits get what each commit says', async () => {
    const before = find(await render(PRODUCTION_OVERLAY, base), 'apps/v1/Deployment/notify-prod/notification-service');
    expect((before.object.spec as { replicas: number }).replicas).toBe(3);
    expect(containers(before)[0].resources).toEqual({ limits: { memory: '512Mi' } });
    expect(containers(before)[0].livenessProbe).toEqual({
      httpGet: { path: '/healthz', port: 8080 },
      failureThreshold: 3,
    });

    const staging = await render(STAGING_OVERLAY, head, { namespace: 'notify-staging' });
    const stagingDeployment = find(staging, 'apps/v1/Deployment/notify-staging/notification-service');
    expect((stagingDeployment.object.spec as { replicas: number }).replicas).toBe(1);
    // The memory patch is production's alone; the probe change is in the base, so staging has it.
    expect(containers(stagingDeployment)[0].resources).toEqual({ limits: { memory: '512Mi' } });
    expect((containers(stagingDeployment)[0].livenessProbe as { failureThreshold: number }).failureThreshold).toBe(1);
  });

  test('an origin annotation the repo asked for itself is kept', async () => {
    const own = repo.commit(
      {
        'k8s/overlays/staging/kustomization.yaml': `${BASE_FILES['k8s/overlays/staging/kustomization.yaml']}buildMetadata: [originAnnotations]\n`,
      },
      'staging asks for origin annotations',
    );
    try {
      const rendered = await render(STAGING_OVERLAY, own, { namespace: 'notify-staging' });
      const service = find(rendered, 'v1/Service/notify-staging/notification-service');
      expect(service.object.metadata.annotations).toEqual({
        'config.kubernetes.io/origin': 'path: ../../base/notification-service/service.yaml\n',
      });
      expect(service.source).toBe('k8s/base/notification-service/service.yaml');
    } finally {
      repo.git('reset', '--quiet', '--hard', head);
    }
  });
});

describe('Helm charts', () => {
  test('production values at base and head: memory 512Mi -> 2Gi, sources name the templates, test hooks left out', async () => {
    const before = await render(chart('production'), base);
    const after = await render(chart('production'), head);
    for (const rendered of [before, after]) {
      expect(rendered.map((r) => [objectIdentity(r.object), r.source])).toEqual([
        ['v1/Service/notify-prod/search-service', 'charts/search-service/templates/service.yaml'],
        ['apps/v1/Deployment/notify-prod/search-service', 'charts/search-service/templates/deployment.yaml'],
      ]);
    }
    const deployment = find(after, 'apps/v1/Deployment/notify-prod/search-service');
    expect(deployment.object.metadata).toEqual({
      name: 'search-service',
      namespace: 'notify-prod',
      labels: { app: 'search-service', release: 'search-service' },
    });
    expect((deployment.object.spec as { replicas: number }).replicas).toBe(4);
    expect(containers(deployment)).toEqual([
      { name: 'search', image: 'registry.example/search-service:2.0.0', resources: { limits: { memory: '2Gi' } } },
    ]);
    expect(containers(find(before, 'apps/v1/Deployment/notify-prod/search-service'))[0].resources).toEqual({
      limits: { memory: '512Mi' },
    });
  });

  test('staging values on top of the chart defaults', async () => {
    const rendered = await render(chart('staging'), head, { namespace: 'search-staging' });
    const deployment = find(rendered, 'apps/v1/Deployment/search-staging/search-service');
    expect((deployment.object.spec as { replicas: number }).replicas).toBe(2);
    expect(containers(deployment)[0].resources).toEqual({ limits: { memory: '256Mi' } });
  });
});

describe('plain manifests', () => {
  test('every *.yaml, *.yml and *.json file of the directory, Lists flattened, cluster-scoped kinds left without namespace', async () => {
    const rendered = await render(PAYMENT_MANIFESTS, base, { namespace: 'payments' });
    expect(rendered.map((r) => [objectIdentity(r.object), r.source])).toEqual([
      ['apps/v1/Deployment/payments/payment-service', 'deploy/payment-service/deployment.yaml'],
      ['v1/Service/payments/payment-service', 'deploy/payment-service/deployment.yaml'],
      ['v1/ConfigMap/payments/payment-limits', 'deploy/payment-service/limits.json'],
      ['policy/v1/PodDisruptionBudget/payments/payment-service', 'deploy/payment-service/policies.yml'],
      ['rbac.authorization.k8s.io/v1/ClusterRole//payment-reader', 'deploy/payment-service/policies.yml'],
    ]);
    expect(find(rendered, 'v1/ConfigMap/payments/payment-limits').object).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'payment-limits', namespace: 'payments' },
      data: { maxAmount: '10000' },
    });
  });

  test('base vs head: the removed file, the added object (its own namespace kept), the rest kept', async () => {
    const before = await render(PAYMENT_MANIFESTS, base, { namespace: 'payments' });
    const after = await render(PAYMENT_MANIFESTS, head, { namespace: 'payments' });
    expect(find(after, 'v1/ConfigMap/payments-prod/payment-fraud').source).toBe('deploy/payment-service/fraud.yaml');
    expect(compareRenders(before, after)).toEqual({
      added: ['v1/ConfigMap/payments-prod/payment-fraud'],
      removed: ['v1/ConfigMap/payments/payment-limits'],
      kept: [
        'apps/v1/Deployment/payments/payment-service',
        'policy/v1/PodDisruptionBudget/payments/payment-service',
        'rbac.authorization.k8s.io/v1/ClusterRole//payment-reader',
        'v1/Service/payments/payment-service',
      ],
    });
  });

  test('a custom resource is namespaced unless the scope lookup says otherwise', async () => {
    const crs = repo.commit(
      {
        'deploy/crs/things.yaml': `apiVersion: example.com/v1
kind: Widget
metadata: { name: w }
---
apiVersion: example.com/v1
kind: ClusterWidget
metadata: { name: cw }
`,
      },
      'custom resources',
    );
    try {
      const scope = (apiVersion: string, kind: string) =>
        apiVersion === 'example.com/v1' && kind === 'ClusterWidget' ? ('Cluster' as const) : undefined;
      const rendered = await render({ manifests: 'deploy/crs' }, crs, { namespace: 'payments', scope });
      expect(rendered.map((r) => objectIdentity(r.object))).toEqual([
        'example.com/v1/Widget/payments/w',
        'example.com/v1/ClusterWidget//cw',
      ]);
    } finally {
      repo.git('reset', '--quiet', '--hard', head);
    }
  });
});

describe('the clone is never written', () => {
  test('rendering an older commit leaves HEAD, the index and a dirty working tree exactly as they were', async () => {
    const valuesFile = join(repo.dir, 'charts/search-service/values-production.yaml');
    writeFileSync(valuesFile, 'replicas: 4\nmemory: 64Gi\n'); // someone's uncommitted edit in the clone
    try {
      const before = cloneState();
      expect(before.status).toBe('M charts/search-service/values-production.yaml');
      const [old, current] = [await render(chart('production'), base), await render(chart('production'), 'HEAD')];
      await render(PRODUCTION_OVERLAY, base);
      await render(PAYMENT_MANIFESTS, base);
      expect(cloneState()).toEqual(before);
      expect(readFileSync(valuesFile, 'utf8')).toBe('replicas: 4\nmemory: 64Gi\n');
      // The commit's files were rendered, not the working tree's.
      expect(containers(find(old, 'apps/v1/Deployment/notify-prod/search-service'))[0].resources?.limits?.memory).toBe(
        '512Mi',
      );
      expect(
        containers(find(current, 'apps/v1/Deployment/notify-prod/search-service'))[0].resources?.limits?.memory,
      ).toBe('2Gi');
    } finally {
      repo.git('checkout', '--quiet', '--', '.');
    }
    expect(cloneState().status).toBe('');
  });
});

describe('render errors name the tool and the file, and nothing else is done', () => {
  /** Commits `files` on top of head, expects the render to fail, and checks the clone and the temp dir. */
  async function renderFailure(files: Record<string, string>, source: KubernetesSource): Promise<RenderError> {
    const broken = repo.commit(files, 'broken');
    try {
      const before = cloneState();
      const err = await render(source, broken).then(
        () => expect.fail('the render succeeded'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RenderError);
      expect((err as RenderError).nonRetryable).toBe(true);
      expect(cloneState()).toEqual(before);
      return err as RenderError;
    } finally {
      repo.git('reset', '--quiet', '--hard', head);
    }
  }

  test('a kustomization that lists a missing resource: kustomize, the overlay, its own message', async () => {
    const err = await renderFailure(
      { 'k8s/overlays/production/kustomization.yaml': 'resources: [../../base/notification-service, hpa.yaml]\n' },
      PRODUCTION_OVERLAY,
    );
    expect(err.tool).toBe('kustomize');
    expect(err.path).toBe('k8s/overlays/production');
    expect(err.message).toMatch(/^render: kustomize: k8s\/overlays\/production: .*hpa\.yaml/);
    // The private tree's location is not in the message: paths read as the repo's own.
    expect(err.message).not.toContain(scratch);
    expect(err.message).not.toMatch(/\n$/);
  });

  test('a kustomization that is not YAML: named by its file', async () => {
    const err = await renderFailure(
      { 'k8s/overlays/production/kustomization.yaml': 'resources: [../../base/notification-service\n' },
      PRODUCTION_OVERLAY,
    );
    expect([err.tool, err.path]).toEqual(['kustomize', 'k8s/overlays/production/kustomization.yaml']);
  });

  test('a base commit without the service (the change adds it): nothing with absentIsEmpty; a head without it is an error', async () => {
    const sources: KubernetesSource[] = [
      { kustomize: 'k8s/overlays/ledger' },
      { helm: { chart: 'charts/ledger', values: ['charts/ledger/values.yaml'], releaseName: 'ledger' } },
      { manifests: 'deploy/ledger' },
    ];
    for (const source of sources) {
      expect(await render(source, base, { absentIsEmpty: true })).toEqual([]);
      const err = await render(source, base).then(
        () => expect.fail('rendered a source that does not exist'),
        (e: unknown) => e as RenderError,
      );
      expect(err).toBeInstanceOf(RenderError);
      expect(err.message).toMatch(/does not exist at commit/);
    }
    // A source that does exist is rendered as usual.
    expect((await render(PAYMENT_MANIFESTS, base, { absentIsEmpty: true })).length).toBeGreaterThan(0);
  });

  test('a values file the commit does not have: named before Helm runs', async () => {
    const err = await renderFailure(
      { 'charts/search-service/values-staging.yaml': 'replicas: 3\n' },
      {
        helm: {
          chart: 'charts/search-service',
          values: ['charts/search-service/values-prod.yaml'],
          releaseName: 'search-service',
        },
      },
    );
    expect(err.message).toBe(
      `render: helm: charts/search-service/values-prod.yaml: does not exist at commit ${repo.git('rev-parse', 'HEAD@{1}').slice(0, 12)}`,
    );
  });

  test('a template Helm cannot parse: helm, the chart, and the template named in its message', async () => {
    const err = await renderFailure(
      { 'charts/search-service/templates/configmap.yaml': 'data: {{ .Values.memory \n' },
      chart('production'),
    );
    expect([err.tool, err.path]).toEqual(['helm', 'charts/search-service']);
    expect(err.message).toMatch(/templates\/configmap\.yaml/);
  });

  test('a Helm hook (a pre-upgrade migration Job) is refused, naming the template: it would never run in its phase', async () => {
    const err = await renderFailure(
      {
        'charts/search-service/templates/migrate.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations: { "helm.sh/hook": pre-upgrade }
spec: { template: { spec: { restartPolicy: Never, containers: [{ name: m, image: busybox }] } } }
`,
      },
      chart('production'),
    );
    expect([err.tool, err.path]).toEqual(['helm', 'charts/search-service/templates/migrate.yaml']);
    expect(err.message).toMatch(/Job search-service-migrate is a Helm hook \(helm\.sh\/hook: pre-upgrade\)/);
  });

  test('a chart dependency that is not vendored: Helm says which (no download is attempted)', async () => {
    const err = await renderFailure(
      {
        'charts/search-service/Chart.yaml': `${BASE_FILES['charts/search-service/Chart.yaml']}dependencies:
  - { name: redis, version: 19.0.0, repository: https://charts.example.com }
`,
      },
      chart('production'),
    );
    expect([err.tool, err.path]).toEqual(['helm', 'charts/search-service']);
    expect(err.message).toMatch(/redis/);
  });

  test('invalid YAML in a manifests directory: the file and the line', async () => {
    const err = await renderFailure(
      { 'deploy/payment-service/zz-broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x\ndata: {}\n' },
      PAYMENT_MANIFESTS,
    );
    expect([err.tool, err.path]).toEqual(['manifests', 'deploy/payment-service/zz-broken.yaml']);
    expect(err.message).toMatch(
      /^render: manifests: deploy\/payment-service\/zz-broken\.yaml: invalid YAML at line \d+: /,
    );
  });

  test('a manifest that is not an object, and one object rendered twice', async () => {
    const nameless = await renderFailure(
      { 'deploy/payment-service/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { generateName: x- }\n' },
      PAYMENT_MANIFESTS,
    );
    expect(nameless.message).toBe(
      'render: manifests: deploy/payment-service/cm.yaml: document 1 (ConfigMap) has no metadata.name (generateName cannot be applied idempotently)',
    );
    const twice = await renderFailure(
      {
        'deploy/payment-service/zz-copy.yaml':
          'apiVersion: v1\nkind: Service\nmetadata: { name: payment-service }\nspec: { ports: [{ port: 81 }] }\n',
      },
      PAYMENT_MANIFESTS,
    );
    expect(twice.message).toBe(
      'render: manifests: deploy/payment-service/zz-copy.yaml: renders v1/Service/notify-prod/payment-service a second time (first from deploy/payment-service/deployment.yaml)',
    );
  });

  test('a committed symlink that points out of the repo is refused before any tool reads it', async () => {
    const link = join(repo.dir, 'charts/search-service/values-production.yaml');
    rmSync(link);
    symlinkSync('/etc/passwd', link);
    const escaping = repo.commit({}, 'values from the host');
    try {
      const err = await render(chart('production'), escaping).then(
        () => expect.fail('the render succeeded'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RenderError);
      expect((err as RenderError).message).toBe(
        'render: git: charts/search-service/values-production.yaml: is a symlink to /etc/passwd, outside the repo',
      );
    } finally {
      repo.git('reset', '--quiet', '--hard', head);
    }
  });

  test('a missing tool says how to install it; an unknown commit is not a render error', async () => {
    const missing = await render(chart('production'), head, { tools: { helm: join(scratch, 'no-helm') } }).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(RenderError);
    expect((missing as Error).message).toBe(
      `render: helm: charts/search-service: ${join(scratch, 'no-helm')} not found or not executable: run scripts/install-helm.sh or set AIRLOCK_HELM`,
    );
    // A commit the clone has not fetched yet: a fetch may fix it, so it is not marked non-retryable.
    const unknown = await render(PRODUCTION_OVERLAY, 'f'.repeat(40)).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(CommitNotFoundError);
    expect((unknown as Error).message).toBe(`render: git: commit ${'f'.repeat(40)} is not in the clone at ${repo.dir}`);
    await expect(render(PRODUCTION_OVERLAY, '--output=/tmp/x')).rejects.toThrow('is not a commit id');
  });

  test('image-tag mode has nothing to render and says so', async () => {
    await expect(render({ image: {} }, head)).rejects.toThrow('image-tag mode has no render');
  });
});

describe('cancellation', () => {
  test('an abort kills the running tool at once, rejects with the reason and removes the tree', async () => {
    // A stand-in for kustomize that hangs (as a remote base on a dead network would), so the test
    // can abort while it runs; it records its pid so the test can see it is gone.
    const bin = mkdtempSync(join(tmpdir(), 'hanging-kustomize-'));
    try {
      const pidFile = join(bin, 'pid');
      const hanging = join(bin, 'kustomize');
      writeFileSync(hanging, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 60\n`);
      chmodSync(hanging, 0o755);
      const controller = new AbortController();
      const reason = new Error('promotion cancelled');
      const rendering = render(PRODUCTION_OVERLAY, head, { tools: { kustomize: hanging }, signal: controller.signal });
      const settled = rendering.catch((e: unknown) => e);
      while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const abortedAt = Date.now();
      controller.abort(reason);
      expect(await settled).toBe(reason);
      expect(Date.now() - abortedAt).toBeLessThan(2000);
      expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test('an already aborted signal renders nothing', async () => {
    const reason = new Error('cancelled before it started');
    await expect(render(PRODUCTION_OVERLAY, head, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

test('the worker finds the tools through AIRLOCK_KUSTOMIZE / AIRLOCK_HELM, else the pinned build', () => {
  expect(renderToolPath('helm', { AIRLOCK_HELM: '/opt/helm/bin/helm' })).toBe('/opt/helm/bin/helm');
  expect(renderToolPath('kustomize', { AIRLOCK_KUSTOMIZE: ' /opt/k ' })).toBe('/opt/k');
  expect(renderToolPath('kustomize', {})).toBe(tools.kustomize);
  expect(renderToolPath('helm', {})).toBe(tools.helm);
});
