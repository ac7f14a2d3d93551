// The change-kind matrix of issue 13 on a real API server with the real kustomize and Helm, at the
// deployer level, in the order the promotion workflow calls it. Each change kind of the story (and
// beyond) is, in a first run, staged, canaried as documented, previewed and promoted; in a second
// run staged and canaried, then rolled back (production snapshot, then staging: newest first) to
// every object exactly as it was. Bad input (a render error, a 422, another namespace, a
// cluster-scoped object) is refused naming the file and the object, and nothing is applied.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { startTestCluster, type TestCluster } from '../helpers/kubernetes-cluster';
import { backgroundBuildDone } from '../helpers/background-build';
import { REPO_ROOT } from '../helpers/tools';
import { createKubernetesDeployer } from '../../src/integrations/kubernetes/kubernetes-deployer';
import {
  createChangeDeployer,
  type ChangeDeployerOptions,
  type ChangeSnapshot,
} from '../../src/integrations/change-deployer';
import { TerraformApplyError } from '../../src/integrations/terraform/terraform-errors';
import { DeployRejectedError, type ChangeRef, type Deployer } from '../../src/integrations/deployer';
import { renderKubernetes } from '../../src/integrations/render';
import { diffObjects } from '../../src/integrations/kubernetes/object-set-diff';
import { stripServerFields } from '../../src/integrations/kubernetes/object-set-strip';
import { idKey, idOf, SERVICE_LABEL, type Json } from '../../src/integrations/kubernetes/object-set';
import type { KubernetesSource } from '../../src/policy/config/environment-source-schema';
import { kubernetesSchema } from '../../src/policy/config/kubernetes-schema';
import type { Environment } from '../../src/workflows/messages';
import { prepareCluster } from './fixtures';
import { assertSameObjects, caseNamespaces, inNamespace, type DeploymentJson } from './case-namespaces';
import { createTestRepo, type Files, type TestRepo } from './render-repo';
import {
  BASE_RESOURCES,
  KINDS_BASE,
  kustomizeBase,
  notificationConfig,
  notificationDeployment,
  notificationWorker,
  overlay,
  paymentDeployment,
  paymentLimits,
} from './change-kinds-repo';

const ENVIRONMENTS = ['staging', 'production'] as const;
const PERCENT = 10;

/** What the canary may not exercise, as deployCanary and the preview name it: kind, name, why. */
type NotCanaried = [kind: string, name: string, reason: RegExp];

interface KindCase {
  name: string;
  /** Namespace prefix: `<slug>-<run>-<environment>`. */
  slug: string;
  service: string;
  source: (environment: Environment) => KubernetesSource;
  /** Files changed from KINDS_BASE at the base commit, and at the head commit. */
  base?: Files;
  head: Files;
  /** How the base is live before the change: applied by hand (unlabelled), or by Airlock earlier. */
  liveBy?: 'hand' | 'airlock';
  /** Deployments that get a canary, with its replicas: ceil(10 % of the stable replicas). */
  canary: Record<string, number>;
  notCanaried: NotCanaried[];
  /** What the production diff shown to the approvers must contain. */
  productionDiff: RegExp[];
}

const kustomize = (environment: Environment): KubernetesSource => ({ kustomize: `k8s/overlays/${environment}` });
const helm = (environment: Environment): KubernetesSource => ({
  helm: {
    chart: 'charts/search-service',
    values: [`charts/search-service/values-${environment}.yaml`],
    releaseName: 'search-service',
  },
});
const manifests = (): KubernetesSource => ({ manifests: 'deploy/payment-service' });
const NOTIFY = 'notification-service';

const deletedWorker = {
  head: { 'k8s/base/kustomization.yaml': kustomizeBase(BASE_RESOURCES.filter((r) => r !== 'worker.yaml')) },
  canary: {},
  notCanaried: [
    ['Deployment', 'notification-worker', /Deployment deleted: removal reaches all of production at once/],
    ['HorizontalPodAutoscaler', 'notification-worker', /HorizontalPodAutoscaler deleted/],
  ] as NotCanaried[],
  productionDiff: [
    /^# kubernetes \S+: .*delete Deployment \S+\/notification-worker\b/m,
    /^# kubernetes \S+: .*delete HorizontalPodAutoscaler \S+\/notification-worker\b/m,
  ],
};

const CASES: KindCase[] = [
  {
    name: 'liveness probe (AI-DEPLOY-009: failureThreshold 3 -> 1)',
    slug: 'probe',
    service: NOTIFY,
    source: kustomize,
    head: { 'k8s/base/deployment.yaml': notificationDeployment({ failureThreshold: 1 }) },
    canary: { 'notification-service': 1 },
    notCanaried: [],
    productionDiff: [/^-\s+failureThreshold: 3$/m, /^\+\s+failureThreshold: 1$/m],
  },
  {
    name: 'memory limit 512Mi -> 2Gi on 11 replicas (canary: ceil(1.1) = 2)',
    slug: 'memory',
    service: NOTIFY,
    source: kustomize,
    base: { 'k8s/overlays/production/kustomization.yaml': overlay(11) },
    head: { 'k8s/base/deployment.yaml': notificationDeployment({ memory: '2Gi' }) },
    canary: { 'notification-service': 2 },
    notCanaried: [],
    productionDiff: [/^-\s+memory: 512Mi$/m, /^\+\s+memory: 2Gi$/m],
  },
  {
    name: "an HPA's minReplicas and maxReplicas",
    slug: 'hpa',
    service: NOTIFY,
    source: kustomize,
    head: { 'k8s/base/worker.yaml': notificationWorker({ min: 2, max: 6 }) },
    canary: {},
    notCanaried: [['HorizontalPodAutoscaler', 'notification-worker', /scales the stable workload as a whole/]],
    productionDiff: [/^\+\s+maxReplicas: 6$/m, /^\+\s+minReplicas: 2$/m],
  },
  {
    name: 'a kustomize `replicas:` change (production 3 -> 6, staging 1 -> 2)',
    slug: 'replicas',
    service: NOTIFY,
    source: kustomize,
    head: {
      'k8s/overlays/staging/kustomization.yaml': overlay(2),
      'k8s/overlays/production/kustomization.yaml': overlay(6),
    },
    canary: {},
    notCanaried: [['Deployment', 'notification-service', /replica count 3 → 6: applies to production at once/]],
    productionDiff: [/^-\s+replicas: 3$/m, /^\+\s+replicas: 6$/m],
  },
  {
    name: 'a ConfigMap edit (read by the stable pods)',
    slug: 'configmap',
    service: NOTIFY,
    source: kustomize,
    head: { 'k8s/base/config.yaml': notificationConfig('smtp.relay.internal') },
    canary: {},
    notCanaried: [['ConfigMap', 'notification-config', /read by the stable pods/]],
    productionDiff: [/^-\s+SMTP_HOST: smtp\.internal$/m, /^\+\s+SMTP_HOST: smtp\.relay\.internal$/m],
  },
  {
    name: 'a new Service',
    slug: 'service',
    service: NOTIFY,
    source: kustomize,
    head: {
      'k8s/base/kustomization.yaml': kustomizeBase([...BASE_RESOURCES, 'admin.yaml']),
      'k8s/base/admin.yaml': `apiVersion: v1
kind: Service
metadata: { name: notification-admin }
spec: { selector: { app: notification-service }, ports: [{ port: 9090 }] }
`,
    },
    canary: {},
    notCanaried: [['Service', 'notification-admin', /one Service sends traffic to stable and canary pods alike/]],
    productionDiff: [/^# kubernetes \S+: .*create Service \S+\/notification-admin\b/m],
  },
  {
    name: 'a deleted object (a Deployment and its HPA), live as applied by hand',
    slug: 'deleted-hand',
    service: NOTIFY,
    source: kustomize,
    ...deletedWorker,
  },
  {
    name: 'a deleted object (a Deployment and its HPA), live as Airlock applied it',
    slug: 'deleted-airlock',
    service: NOTIFY,
    source: kustomize,
    liveBy: 'airlock',
    ...deletedWorker,
  },
  {
    name: 'a Helm values change (image tag in values.yaml, memory in values-production.yaml)',
    slug: 'helm',
    service: 'search-service',
    source: helm,
    head: {
      'charts/search-service/values.yaml': 'replicas: 1\nmemory: 256Mi\nimage: { tag: "2.1.0" }\n',
      'charts/search-service/values-production.yaml': 'replicas: 4\nmemory: 1Gi\n',
    },
    canary: { 'search-service': 1 },
    notCanaried: [],
    productionDiff: [/^\+\s+- image: registry\.example\/search-service:2\.1\.0$/m, /^\+\s+memory: 1Gi$/m],
  },
  {
    name: 'a plain-manifests change (a Deployment image and a JSON ConfigMap)',
    slug: 'manifests',
    service: 'payment-service',
    source: manifests,
    head: {
      'deploy/payment-service/deployment.yaml': paymentDeployment('3.2.0'),
      'deploy/payment-service/limits.json': paymentLimits('5000'),
    },
    canary: { 'payment-service': 1 },
    notCanaried: [['ConfigMap', 'payment-limits', /read by the stable pods/]],
    productionDiff: [/^\+\s+image: registry\.example\/payment-service:3\.2\.0$/m, /^\+\s+maxAmount: "5000"$/m],
  },
];

let cluster: TestCluster;
let spaces: ReturnType<typeof caseNamespaces>;
const repos: TestRepo[] = [];

beforeAll(async () => {
  await backgroundBuildDone(); // kustomize, Helm
  cluster = await startTestCluster();
  await prepareCluster(cluster);
  await cluster.applyYaml(readFileSync(resolve(REPO_ROOT, 'docs/kubernetes-object-set-rbac.yaml'), 'utf8'));
  spaces = caseNamespaces(cluster);
}, 45 * 60_000);
afterAll(async () => {
  for (const r of repos) r.remove();
  await cluster?.teardown();
});

/** A repo with KINDS_BASE and the case's base edits, then its head edits: [base, head]. */
function commits(base: Files | undefined, head: Files): { repo: TestRepo; change: ChangeRef } {
  const repo = createTestRepo();
  repos.push(repo);
  const baseCommit = repo.commit({ ...KINDS_BASE, ...base }, 'base');
  return { repo, change: { commit: repo.commit(head, 'the agent’s change'), baseCommit } };
}

function deployerFor(
  c: Pick<KindCase, 'service' | 'source'>,
  repo: TestRepo,
  ns: Record<Environment, string>,
  terraform?: ChangeDeployerOptions['terraform'],
) {
  const settings = kubernetesSchema.parse({
    staging: { namespace: ns.staging },
    production: { namespace: ns.production },
    containers: ['app'],
    rolloutTimeoutMinutes: 2,
  });
  const kubeconfig = cluster.kubeconfig('airlock');
  return createChangeDeployer({
    kubeconfig,
    settings: () => settings,
    services: () => [
      {
        name: c.service,
        environments: {
          staging: { kubernetes: c.source('staging') },
          production: { kubernetes: c.source('production') },
        },
      },
    ],
    repoDir: repo.dir,
    imageDeployer: createKubernetesDeployer({ kubeconfig, settings: () => settings, pollMs: 200 }),
    pollMs: 200,
    ...(terraform ? { terraform } : {}),
  });
}

const render = async (c: KindCase, repo: TestRepo, commit: string, environment: Environment, namespace: string) =>
  (await renderKubernetes(c.source(environment), { repoDir: repo.dir, commit, namespace })).map((r) => r.object);

/** The base as live before the change: applied by someone else (kubectl, unlabelled), or by Airlock. */
async function liveAtBase(
  c: KindCase,
  repo: TestRepo,
  change: ChangeRef,
  ns: Record<Environment, string>,
  deployer: Deployer,
) {
  const base = { commit: change.baseCommit! };
  if (c.liveBy === 'airlock') {
    const version = base.commit.slice(0, 12);
    await deployer.deploy({ service: c.service, environment: 'staging', version, change: base });
    await deployer.promote({ service: c.service, version, change: base });
    return;
  }
  await Promise.all(
    ENVIRONMENTS.map(async (environment) => {
      const objects = await render(c, repo, base.commit, environment, ns[environment]);
      await cluster.applyYaml(objects.map((o) => stringify(o)).join('---\n'));
      await spaces.settled(ns[environment]);
    }),
  );
}

/** Live equals the head render (a server-side dry run changes nothing), labelled; what the change removed is gone. */
async function assertRendered(
  c: KindCase,
  repo: TestRepo,
  change: ChangeRef,
  environment: Environment,
  namespace: string,
) {
  const head = await render(c, repo, change.commit, environment, namespace);
  const diff = await diffObjects(cluster.kubeconfig('airlock'), { namespace, service: c.service, desired: head });
  const changed = diff.objects.filter((d) => d.action !== 'unchanged');
  assert.deepEqual(changed, [], `${environment} runs the head render:\n${diff.text}`);
  for (const o of head) {
    const object = await spaces.liveObject(idOf(o, namespace));
    const labels = (object?.metadata as { labels?: Record<string, string> } | undefined)?.labels;
    assert.equal(labels?.[SERVICE_LABEL], c.service, `${idKey(idOf(o, namespace))} labelled for the service`);
  }
  const kept = new Set(head.map((o) => idKey(idOf(o, namespace))));
  for (const o of await render(c, repo, change.baseCommit!, environment, namespace))
    if (!kept.has(idKey(idOf(o, namespace))))
      assert.equal(await spaces.liveObject(idOf(o, namespace)), null, `${idKey(idOf(o))}: removed by the change`);
}

const canaries = (objects: Map<string, Json>) =>
  [...objects.values()].filter((o) => o.kind === 'Deployment' && idOf(o).name.endsWith('-canary'));

/** Staging gets the change, production its canary (only changed pod templates), the preview and the rollout. */
async function promoteRun(c: KindCase) {
  const { repo, change } = commits(c.base, c.head);
  const ns = await spaces.create(c.slug, 1);
  const deployer = deployerFor(c, repo, ns);
  const version = change.commit.slice(0, 12);
  const [svc, prd] = [c.service, ns.production];
  try {
    await liveAtBase(c, repo, change, ns, deployer);
    const before = await spaces.liveObjects([ns.staging, prd]);

    await deployer.snapshot(svc, 'staging', {}, change);
    await deployer.deploy({ service: svc, environment: 'staging', version, change });
    await assertRendered(c, repo, change, 'staging', ns.staging);
    assertSameObjects(await spaces.liveObjects([prd]), inNamespace(before, prd), 'production before the canary');

    await deployer.snapshot(svc, 'production', {}, change);
    const canary = await deployer.deployCanary({ service: svc, version, percent: PERCENT, change });
    const during = await spaces.liveObjects([prd]);
    const names = Object.keys(c.canary).map((n) => `${n}-canary`);
    assert.deepEqual(
      canaries(during)
        .map((o) => idOf(o).name)
        .sort(),
      names.sort(),
      'a canary per changed template',
    );
    if (names.length)
      assert.match(canary.summary, new RegExp(`: canary ${names.join(', ')} at ${PERCENT}% of production`));
    else assert.match(canary.summary, /: no pod template changes, canary skipped/);
    // The canary runs production's new template (as the server defaults it) beside stable, at ceil(10 %).
    const dryRun = await diffObjects(cluster.kubeconfig('airlock'), {
      namespace: prd,
      service: svc,
      desired: await render(c, repo, change.commit, 'production', prd),
    });
    for (const [name, replicas] of Object.entries(c.canary)) {
      const stable = before.get(idKey({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: prd, name }))!;
      const copy = during.get(
        idKey({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: prd, name: `${name}-canary` }),
      )!;
      const wanted = dryRun.objects.find((d) => d.id.kind === 'Deployment' && d.id.name === name)!.after!;
      assert.equal(replicas, Math.ceil(((stable as DeploymentJson).spec.replicas * PERCENT) / 100));
      assert.equal((copy as DeploymentJson).spec.replicas, replicas, `${name}-canary replicas`);
      assert.equal((copy as DeploymentJson).status?.availableReplicas, replicas, `${name}-canary ready`);
      assert.deepEqual(
        (copy as DeploymentJson).spec.template.spec,
        (wanted as DeploymentJson).spec.template.spec,
        `${name}-canary runs the production render's template`,
      );
    }
    for (const [kind, name, reason] of c.notCanaried) {
      const at = canary.summary.indexOf(`${kind} ${prd}/${name} (`);
      assert.ok(at > 0, `${kind} ${name} listed as not canaried in: ${canary.summary}`);
      assert.match(canary.summary.slice(at), reason);
    }
    if (!c.notCanaried.length) assert.doesNotMatch(canary.summary, /not canaried/);
    else assert.match(canary.summary, /not canaried, reaches production only after approval: /);
    // Stable production is untouched by the canary.
    const stableNow = new Map([...during].filter(([, o]) => !idOf(o).name.endsWith('-canary')));
    assertSameObjects(stableNow, inNamespace(before, prd), 'stable production during the canary');

    const preview = await deployer.preview!({ service: svc, environment: 'production', change });
    for (const re of c.productionDiff) assert.match(preview!.text, re);
    const notes = preview!.notes.filter((n) => n.startsWith('not canaried'));
    assert.equal(notes.length, c.notCanaried.length, `exactly what was not canaried:\n${notes.join('\n')}`);
    for (const [kind, name, reason] of c.notCanaried) {
      const note = notes.find((n) => n.includes(`: ${kind} ${prd}/${name} (`));
      assert.ok(note, `preview note for ${kind} ${name}:\n${notes.join('\n')}`);
      assert.match(note, reason);
    }

    await deployer.promote({ service: svc, version, change });
    await assertRendered(c, repo, change, 'production', prd);
    assert.deepEqual(canaries(await spaces.liveObjects([prd])), [], 'the canary is gone after the rollout');
  } finally {
    await spaces.removeWorkloads(ns);
  }
}

/** Staged and canaried, then both snapshots restored, newest first: everything as it was. */
async function rollbackRun(c: KindCase) {
  const { repo, change } = commits(c.base, c.head);
  const ns = await spaces.create(c.slug, 2);
  const deployer = deployerFor(c, repo, ns);
  const version = change.commit.slice(0, 12);
  const svc = c.service;
  try {
    await liveAtBase(c, repo, change, ns, deployer);
    const before = await spaces.liveObjects([ns.staging, ns.production]);

    const staging = (await deployer.snapshot(svc, 'staging', {}, change)) as ChangeSnapshot;
    await deployer.deploy({ service: svc, environment: 'staging', version, change });
    const production = (await deployer.snapshot(svc, 'production', {}, change)) as ChangeSnapshot;
    await deployer.deployCanary({ service: svc, version, percent: PERCENT, change });
    await deployer.restore(production);
    await deployer.restore(staging);

    for (const s of [...staging.objects, ...production.objects]) {
      const now = await spaces.liveObject(s.id);
      if (s.object === null) assert.equal(now, null, `${idKey(s.id)}: created by the change, deleted`);
      else assert.deepEqual(stripServerFields(now!), stripServerFields(s.object), `${idKey(s.id)} as snapshotted`);
    }
    assertSameObjects(await spaces.liveObjects([ns.staging, ns.production]), before, 'after the rollback');
    // The snapshots covered what the change created and what it deleted.
    for (const environment of ENVIRONMENTS) {
      const namespace = ns[environment];
      const [base, head] = await Promise.all(
        [change.baseCommit!, change.commit].map(async (commit) =>
          (await render(c, repo, commit, environment, namespace)).map((o) => idKey(idOf(o, namespace))),
        ),
      );
      const snapped = new Set((environment === 'staging' ? staging : production).objects.map((s) => idKey(s.id)));
      for (const key of [...base, ...head]) assert.ok(snapped.has(key), `${key} is in the ${environment} snapshot`);
    }
  } finally {
    await spaces.removeWorkloads(ns);
  }
}

describe('each change kind: staged, canaried, promoted; then staged, canaried, rolled back exactly', () => {
  // The two runs use their own namespaces and repos: run side by side.
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    await Promise.all([promoteRun(c), rollbackRun(c)]);
  });
});

/**
 * The workflow's first call (the staging snapshot) refuses non-retryably, saying each of `error`;
 * so would the deploy if it were reached anyway; nothing in either namespace changed.
 */
async function assertRefusedFirst(
  c: KindCase,
  deployer: Deployer,
  change: ChangeRef,
  ns: Record<Environment, string>,
  error: RegExp[],
) {
  const before = await spaces.liveObjects([ns.staging, ns.production]);
  const refused = (err: unknown) => {
    assert.ok(err instanceof DeployRejectedError, `non-retryable: ${String(err)}`);
    for (const re of error) assert.match(err.message, re);
    return true;
  };
  const version = change.commit.slice(0, 12);
  await assert.rejects(deployer.snapshot(c.service, 'staging', {}, change), refused);
  await assert.rejects(deployer.deploy({ service: c.service, environment: 'staging', version, change }), refused);
  assertSameObjects(await spaces.liveObjects([ns.staging, ns.production]), before, 'nothing applied or deleted');
}

interface BadCase {
  name: string;
  slug: string;
  head: Files;
  /** Everything the error must say: the file and the object (or the tool) and why. */
  error: RegExp[];
}

const BAD: BadCase[] = [
  {
    name: 'a render error (a kustomization naming a file that does not exist)',
    slug: 'bad-render',
    head: { 'k8s/base/kustomization.yaml': kustomizeBase([...BASE_RESOURCES, 'cron.yaml']) },
    error: [/^render: kustomize: k8s\/overlays\/staging: /, /cron\.yaml/],
  },
  {
    name: 'an invalid manifest (422 from the API server)',
    slug: 'bad-invalid',
    head: { 'k8s/base/deployment.yaml': notificationDeployment({ failureThreshold: -1 }) },
    error: [
      /Deployment bad-invalid-1-staging\/notification-service refused: 422 Invalid: .*failureThreshold/,
      /k8s\/base\/deployment\.yaml/,
    ],
  },
  {
    name: 'an object in another namespace',
    slug: 'bad-namespace',
    head: {
      'k8s/base/kustomization.yaml': kustomizeBase([...BASE_RESOURCES, 'audit.yaml']),
      'k8s/base/audit.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: audit-sink, namespace: payments-prod }
data: { target: audit.internal }
`,
    },
    error: [
      /ConfigMap\/audit-sink \(from k8s\/base\/audit\.yaml\): in namespace payments-prod, not in the environment's namespace bad-namespace-1-staging/,
      /nothing was applied/,
    ],
  },
  {
    name: 'a cluster-scoped object (the policy allows none)',
    slug: 'bad-cluster',
    head: {
      'k8s/base/kustomization.yaml': kustomizeBase([...BASE_RESOURCES, 'reader.yaml']),
      'k8s/base/reader.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: notification-reader }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get] }]
`,
    },
    error: [
      /ClusterRole\/notification-reader \(from k8s\/base\/reader\.yaml\): cluster-scoped kind/,
      /nothing was applied/,
    ],
  },
];

describe('bad input: a clear error naming the file and the object, nothing applied', () => {
  test.each(BAD.map((b) => [b.name, b] as const))('%s', async (_, b) => {
    const c: KindCase = { ...CASES[0], slug: b.slug, head: b.head };
    const { repo, change } = commits(undefined, b.head);
    const ns = await spaces.create(b.slug, 1);
    const deployer = deployerFor(c, repo, ns);
    try {
      await liveAtBase(c, repo, change, ns, deployer);
      await assertRefusedFirst(c, deployer, change, ns, b.error);
    } finally {
      await spaces.removeWorkloads(ns);
    }
  });
});

// notification-worker has an HPA. The cluster runs no autoscaler controller, so the test plays it:
// it scales the live Deployment as an HPA would (the scale subresource). The agent's change bumps
// the image and sets `replicas: 4` in the manifest; neither staging, production nor the preview may
// take the replica count away from the autoscaler.
describe('a workload an HPA scales keeps the count the autoscaler chose', () => {
  test('the render’s replicas are not applied over the live count; the preview and deploy result say so', async () => {
    const c: KindCase = { ...CASES[0], slug: 'autoscaled', head: {} };
    const { repo, change } = commits(undefined, {
      'k8s/base/worker.yaml': notificationWorker({ min: 1, max: 4 }, { replicas: 4, version: '1.5.0' }),
    });
    const ns = await spaces.create(c.slug, 1);
    const deployer = deployerFor(c, repo, ns);
    const version = change.commit.slice(0, 12);
    const worker = (environment: Environment) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns[environment],
      name: 'notification-worker',
    });
    const live = async (environment: Environment) => (await spaces.liveObject(worker(environment))) as DeploymentJson;
    try {
      c.liveBy = 'airlock';
      await liveAtBase(c, repo, change, ns, deployer);
      // A workload that did not exist starts at the render's count.
      for (const environment of ENVIRONMENTS) assert.equal((await live(environment)).spec.replicas, 2);
      for (const environment of ENVIRONMENTS)
        await cluster.admin.apps.patchNamespacedDeploymentScale({
          name: 'notification-worker',
          namespace: ns[environment],
          body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
        });
      await spaces.settled(ns.staging);
      await spaces.settled(ns.production);

      const staged = await deployer.deploy({ service: c.service, environment: 'staging', version, change });
      const note = (environment: Environment) =>
        `replicas of Deployment ${ns[environment]}/notification-worker stay at the live 3: HorizontalPodAutoscaler notification-worker scales it (the render's 4 is not applied)`;
      assert.ok(staged.summary.includes(note('staging')), staged.summary);
      const preview = await deployer.preview!({ service: c.service, environment: 'production', change });
      assert.ok(preview!.notes.includes(note('production')), preview!.notes.join('\n'));
      assert.match(preview!.text, /^\+\s+- image: registry\.example\/notification-worker:1\.5\.0$/m);
      assert.doesNotMatch(preview!.text, /^[-+]\s+replicas:/m, 'no replica change shown to the approvers');
      await deployer.promote({ service: c.service, version, change });
      for (const environment of ENVIRONMENTS) {
        const now = await live(environment);
        assert.equal(now.spec.replicas, 3, `${environment}: the autoscaler's count`);
        assert.match(JSON.stringify(now.spec.template), /notification-worker:1\.5\.0/, `${environment}: the change`);
      }
    } finally {
      await spaces.removeWorkloads(ns);
    }
  });
});

describe('what the change removes: never a volume’s data, never another service’s object', () => {
  test('a PersistentVolumeClaim the head no longer renders is left in place and named', async () => {
    const pvc = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: notification-data }
spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
`;
    const c: KindCase = { ...CASES[0], slug: 'kept-pvc', head: {}, liveBy: 'airlock' };
    const { repo, change } = commits(
      { 'k8s/base/kustomization.yaml': kustomizeBase([...BASE_RESOURCES, 'pvc.yaml']), 'k8s/base/pvc.yaml': pvc },
      { 'k8s/base/kustomization.yaml': kustomizeBase(BASE_RESOURCES) },
    );
    const ns = await spaces.create(c.slug, 1);
    const deployer = deployerFor(c, repo, ns);
    const version = change.commit.slice(0, 12);
    const claim = (environment: Environment) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: ns[environment],
      name: 'notification-data',
    });
    try {
      await liveAtBase(c, repo, change, ns, deployer);
      assert.ok(await spaces.liveObject(claim('staging')), 'the base made the claim');
      const left = (environment: Environment) =>
        `PersistentVolumeClaim ${ns[environment]}/notification-data is no longer rendered but is left in place`;
      const preview = await deployer.preview!({ service: c.service, environment: 'production', change });
      assert.ok(
        preview!.notes.some((n) => n.startsWith(left('production'))),
        preview!.notes.join('\n'),
      );
      assert.doesNotMatch(preview!.text, /PersistentVolumeClaim/, 'not shown as a deletion');
      const staged = await deployer.deploy({ service: c.service, environment: 'staging', version, change });
      assert.ok(staged.summary.includes(left('staging')), staged.summary);
      await deployer.promote({ service: c.service, version, change });
      for (const environment of ENVIRONMENTS)
        assert.ok(await spaces.liveObject(claim(environment)), `${environment}: the claim and its data are kept`);
    } finally {
      await spaces.removeWorkloads(ns);
    }
  });

  test('an object the change removes that another service owns is refused before anything is applied', async () => {
    const shared = `apiVersion: v1
kind: ConfigMap
metadata: { name: shared-routes, labels: { ${SERVICE_LABEL}: payment-service } }
data: { routes: "/pay" }
`;
    const c: KindCase = { ...CASES[0], slug: 'foreign-removal', head: {} };
    const { repo, change } = commits(
      {
        'k8s/base/kustomization.yaml': kustomizeBase([...BASE_RESOURCES, 'shared.yaml']),
        'k8s/base/shared.yaml': shared,
      },
      {
        'k8s/base/kustomization.yaml': kustomizeBase(BASE_RESOURCES),
        'k8s/base/deployment.yaml': notificationDeployment({ failureThreshold: 5 }),
      },
    );
    const ns = await spaces.create(c.slug, 1);
    const deployer = deployerFor(c, repo, ns);
    try {
      await liveAtBase(c, repo, change, ns, deployer);
      await assertRefusedFirst(c, deployer, change, ns, [
        new RegExp(
          `ConfigMap ${ns.staging}/shared-routes is live with ${SERVICE_LABEL}=payment-service: it belongs to another service`,
        ),
      ]);
    } finally {
      await spaces.removeWorkloads(ns);
    }
  });
});

describe('a restore whose Terraform part fails', () => {
  test('still puts every object back, then fails, saying what it restored', async () => {
    const c: KindCase = { ...CASES[0], slug: 'restore-tf-fails', head: {} };
    const { repo, change } = commits(undefined, CASES[0].head);
    const ns = await spaces.create(c.slug, 1);
    const deployer = deployerFor(c, repo, ns);
    const version = change.commit.slice(0, 12);
    // A Terraform runner whose every apply fails part-way (a provider error): retryable.
    const failing = deployerFor(c, repo, ns, {
      runner: {
        planRoot: () => Promise.reject(new Error('not planned in this test')),
        applyRoot: (req) =>
          Promise.reject(
            new TerraformApplyError('apply failed', {
              root: req.dir,
              commit: req.commit,
              stage: 'apply',
              detail: 'Error: provider crashed',
            }),
          ),
      },
      stateDir: repo.dir,
    });
    try {
      await liveAtBase(c, repo, change, ns, deployer);
      const before = await spaces.liveObjects([ns.staging]);
      const snapshot = (await deployer.snapshot(c.service, 'staging', {}, change)) as ChangeSnapshot;
      await deployer.deploy({ service: c.service, environment: 'staging', version, change });
      const withRoot: ChangeSnapshot = {
        ...snapshot,
        terraform: [
          {
            source: { dir: 'terraform/staging', varFiles: [], allowDestroy: false },
            commit: change.baseCommit!,
            destroy: false,
          },
        ],
      };
      await assert.rejects(failing.restore(withRoot), (err: unknown) => {
        assert.ok(err instanceof TerraformApplyError, String(err));
        assert.match(err.message, /provider crashed/);
        assert.match(err.message, /restored meanwhile: \d+ objects restored, \d+ deleted in /);
        return true;
      });
      assertSameObjects(await spaces.liveObjects([ns.staging]), before, 'the objects are back despite Terraform');
    } finally {
      await spaces.removeWorkloads(ns);
    }
  });
});

// kustomize's configMapGenerator names its ConfigMap after a hash of the content: an edit renames
// it, and the new pod template reads the new name. The canary's pods need that ConfigMap in
// production before the rollout (on a real kubelet they would never start without it).
describe('a configMapGenerator edit', () => {
  const generated = (smtpHost: string) => `resources: [deployment.yaml, service.yaml, worker.yaml]
configMapGenerator:
  - name: notification-config
    literals: [SMTP_HOST=${smtpHost}]
`;
  test('the new ConfigMap goes with the canary, is still shown as created, and goes again on rollback; the rollout keeps it', async () => {
    const c: KindCase = { ...CASES[0], slug: 'generator', head: {}, liveBy: 'airlock' };
    const { repo, change } = commits(
      { 'k8s/base/kustomization.yaml': generated('smtp.internal') },
      { 'k8s/base/kustomization.yaml': generated('smtp.relay.internal') },
    );
    const ns = await spaces.create(c.slug, 1);
    const prd = ns.production;
    const deployer = deployerFor(c, repo, ns);
    const version = change.commit.slice(0, 12);
    const configMaps = async () =>
      [...(await spaces.liveObjects([prd])).values()].filter((o) => o.kind === 'ConfigMap').map((o) => idOf(o).name);
    const readsOf = async (name: string) =>
      JSON.stringify(
        (
          (await spaces.liveObject({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            namespace: prd,
            name,
          })) as DeploymentJson
        ).spec.template.spec,
      ).match(/notification-config-\w+/)![0];
    try {
      await liveAtBase(c, repo, change, ns, deployer);
      const before = await spaces.liveObjects([prd]);
      const [old] = (await configMaps()).filter((n) => n.startsWith('notification-config-'));
      for (const run of ['rolled back', 'rolled out']) {
        const snapshot = (await deployer.snapshot(c.service, 'production', {}, change)) as ChangeSnapshot;
        const preview = await deployer.preview!({ service: c.service, environment: 'production', change });
        const canary = await deployer.deployCanary({ service: c.service, version, percent: PERCENT, change });
        const created = (await configMaps()).filter((n) => n.startsWith('notification-config-') && n !== old);
        assert.equal(created.length, 1, `${run}: the new ConfigMap is live for the canary`);
        assert.match(
          canary.summary,
          new RegExp(
            `canary notification-service-canary at 10% of production with ConfigMap ${prd}/${created[0]} \\(new, for the canary's pods to read\\)`,
          ),
        );
        assert.equal(await readsOf('notification-service-canary'), created[0], 'the canary reads the new one');
        assert.equal(await readsOf('notification-service'), old, 'stable still reads the old one');
        const during = await deployer.preview!({ service: c.service, environment: 'production', change });
        assert.match(during!.text, new RegExp(`^# kubernetes \\S+: .*create ConfigMap ${prd}/${created[0]}\\b`, 'm'));
        assert.doesNotMatch(during!.text, /canary-support/, 'shown as the render has it, not as the canary marked it');
        assert.equal(
          during!.text.split('\n')[0].includes(`create ConfigMap ${prd}/${created[0]}`),
          preview!.text.split('\n')[0].includes(`create ConfigMap ${prd}/${created[0]}`),
          'a creation before the canary and during it',
        );
        if (run === 'rolled back') {
          await deployer.restore(snapshot);
          assertSameObjects(await spaces.liveObjects([prd]), before, 'production as before, the new ConfigMap gone');
          continue;
        }
        await deployer.promote({ service: c.service, version, change });
        assert.deepEqual(
          (await configMaps()).filter((n) => n.startsWith('notification-config-')),
          created,
          'the rollout keeps the new one and prunes the old',
        );
        const kept = await spaces.liveObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: prd, name: created[0] });
        assert.equal(
          ((kept!.metadata as Json).annotations as Record<string, string> | undefined)?.['airlock.dev/canary-support'],
          undefined,
          'no longer marked as the canary’s',
        );
        assert.equal(await readsOf('notification-service'), created[0]);
      }
    } finally {
      await spaces.removeWorkloads(ns);
    }
  });
});
