// The policy gate judges what will be applied: each environment's render at base and head (the real
// kustomize and Helm), so a Helm values edit that quadruples memory is a finding although no
// manifest file changed, naming the rendered object and the file that produced it.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { backgroundBuildDone } from '../helpers/background-build';
import { makeChange, testPolicyYaml } from '../helpers/harness';
import { createChangeChecker } from '../../src/worker/policy-wiring';
import { parsePolicy } from '../../src/policy/config/load';
import { stringify } from 'yaml';
import { checkChange } from '../../src/policy/engine/check-change';
import type { Finding } from '../../src/policy/engine/finding';
import { memoryTrees } from '../policy/memory-tree';
import { workload, type ContainerSpec } from '../policy/workload-object';
import { BASE_FILES, HEAD_CHANGES, createTestRepo, type Files, type TestRepo } from './render-repo';

let repo: TestRepo;
let base: string;
let head: string;
beforeAll(async () => {
  await backgroundBuildDone(); // kustomize and Helm
  repo = createTestRepo();
  base = repo.commit(BASE_FILES, 'base');
  head = repo.commit(HEAD_CHANGES, 'the agent: probe, memory, replicas, values');
}, 45 * 60_000);
afterAll(() => repo?.remove());

const chart = (environment: string) =>
  `{ kubernetes: { helm: { chart: charts/search-service, values: [charts/search-service/values-${environment}.yaml], releaseName: search-service } } }`;
const policy = (rendered: boolean) =>
  parsePolicy(
    testPolicyYaml({
      services: `  - name: search-service
    paths: ["charts/search-service/**"]${rendered ? `\n    environments: { staging: ${chart('staging')}, production: ${chart('production')} }` : ''}`,
    }),
    'test-policy',
  ).policy;

describe('the gate on rendered objects', () => {
  test('a Helm values edit 512Mi -> 2Gi in production is a memory finding on the rendered Deployment', async () => {
    const check = createChangeChecker(repo.dir);
    const change = makeChange({ service: 'search-service', commit: head, baseCommit: base });
    // On the files alone the values edit is invisible to the memory rule: this is what the render adds.
    const filesOnly = await check(policy(false), change);
    const aboutSearch = (f: { rule: string; message: string; file?: string }) =>
      f.rule.startsWith('memory') && /search-service/.test(`${f.file ?? ''} ${f.message}`);
    assert.deepEqual(filesOnly.filter(aboutSearch), [], JSON.stringify(filesOnly));

    const findings = await check(policy(true), change);
    const memory = findings.filter((f) => aboutSearch(f) && f.rule === 'memory-increase');
    assert.equal(memory.length, 1, JSON.stringify(findings));
    assert.match(
      memory[0].message,
      /^production render, Deployment \S+\/search-service \(from charts\/search-service\/templates\/deployment\.yaml; the change edits charts\/search-service\/values-production\.yaml, which this render reads\): /,
    );
    assert.match(memory[0].message, /512Mi/);
    assert.match(memory[0].message, /2Gi/);
    // Helm's `# Source:` names the template; the file the agent edited is the values file.
    assert.equal(memory[0].file, 'charts/search-service/values-production.yaml');
  });

  test('a chart that does not render blocks the gate, naming the file', async () => {
    const broken = repo.commit(
      {
        'charts/search-service/templates/deployment.yaml':
          'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: {{ .Release.Name }\n',
      },
      'a broken template',
    );
    const findings = await createChangeChecker(repo.dir)(
      policy(true),
      makeChange({ service: 'search-service', commit: broken, baseCommit: head }),
    );
    const block = findings.find((f) => f.rule === 'unrenderable');
    assert.ok(block, JSON.stringify(findings));
    assert.equal(block.level, 'block');
    assert.match(block.message, /helm/);
  });
});

describe('a render that differs each time', () => {
  test('blocks the gate, naming the object and its template (approvers could never see what is applied)', async () => {
    repo.git('reset', '--quiet', '--hard', head);
    const random = repo.commit(
      {
        'charts/search-service/templates/nonce.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: {{ .Release.Name }}-nonce }
data: { nonce: {{ randAlphaNum 16 | quote }} }
`,
      },
      'a random value in a template',
    );
    try {
      const findings = await createChangeChecker(repo.dir)(
        policy(true),
        makeChange({ service: 'search-service', commit: random, baseCommit: head }),
      );
      const block = findings.find((f) => f.rule === 'unrenderable');
      assert.ok(block, JSON.stringify(findings));
      assert.equal(block.level, 'block');
      assert.equal(block.file, 'charts/search-service/templates/nonce.yaml');
      assert.match(
        block.message,
        /ConfigMap\/\S+\/search-service-nonce .*renders differently each time from the same commit/,
      );
    } finally {
      repo.git('reset', '--quiet', '--hard', head);
    }
  });
});

// One Deployment "web" written four ways: a Helm chart with per-environment values, a kustomize base
// with overlays (a `replicas:` field and a memory patch in production), and a JSON manifest. Each
// edit is committed on top of the same base and judged by the worker's checker (real kustomize and
// Helm); the same edit made to a plain YAML manifest is judged by the engine alone. The object rules
// must say the same thing about both.
const app = (o: Partial<ContainerSpec> = {}): ContainerSpec => ({ name: 'app', memory: '512Mi', ...o });
const NO_LIMIT_NO_PROBES: ContainerSpec = { name: 'cache', probes: false };
const OBJECT_RULES = new Set([
  'liveness-probe',
  'memory-increase',
  'memory-capacity',
  'replicas',
  'planned-operation',
  'vacuous-memory-limit',
  'vacuous-probe',
  'unparseable',
  'sensitive-networking',
  'sensitive-secrets',
]);

const helmTemplate = `apiVersion: apps/v1
kind: Deployment
metadata: { name: {{ .Release.Name }}, namespace: shop }
spec:
  replicas: {{ .Values.replicas }}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: app
          image: registry.example/app:1.0.0
          resources: { limits: { memory: {{ .Values.memory }} } }
          livenessProbe: { httpGet: { path: /healthz, port: 8080 }, failureThreshold: {{ .Values.failureThreshold }} }
          readinessProbe: { httpGet: { path: /ready, port: 8080 } }
        {{- if .Values.cache }}
        - name: cache
          image: registry.example/cache:1.0.0
        {{- end }}
`;

/** A strategic-merge patch of web's containers: app's memory limit, and any containers to add. */
const memoryPatch = (memory: string, added: Record<string, unknown>[] = []) =>
  stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory } } }, ...added] } } },
  });

const productionOverlay = (replicas: number) => `resources: [../../base]
replicas: [{ name: web, count: ${replicas} }]
patches: [{ path: memory.yaml }]
`;

const WAYS: Files = {
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\nkubeVersion: ">= 1.30.0-0"\n',
  'charts/web/values.yaml': 'replicas: 3\nmemory: 512Mi\nfailureThreshold: 3\ncache: false\nserviceType: ClusterIP\n',
  'charts/web/values-staging.yaml': 'replicas: 3\n',
  'charts/web/values-production.yaml': 'replicas: 3\n',
  'charts/web/templates/deployment.yaml': helmTemplate,
  'charts/web/templates/service.yaml': `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { type: {{ .Values.serviceType }}, selector: { app: web }, ports: [{ port: 80 }] }
`,
  'k8s/web/base/kustomization.yaml': 'resources: [deployment.yaml]\n',
  'k8s/web/base/deployment.yaml': stringify(workload({ containers: [app()] })),
  'k8s/web/overlays/staging/kustomization.yaml': 'resources: [../../base]\n',
  'k8s/web/overlays/production/kustomization.yaml': productionOverlay(3),
  'k8s/web/overlays/production/memory.yaml': memoryPatch('512Mi'),
  'deploy/web-json/deployment.json': JSON.stringify(workload({ containers: [app()] }), null, 2),
};

const both = (source: string) => `{ staging: ${source}, production: ${source} }`;
const perEnvironment = (source: (environment: string) => string) =>
  `{ staging: ${source('staging')}, production: ${source('production')} }`;
const waysPolicy = parsePolicy(
  testPolicyYaml({
    services: `  - name: web-helm
    paths: ["charts/web/**"]
    environments: ${perEnvironment((e) => `{ kubernetes: { helm: { chart: charts/web, values: [charts/web/values-${e}.yaml], releaseName: web } } }`)}
  - name: web-kustomize
    paths: ["k8s/web/**"]
    environments: ${perEnvironment((e) => `{ kubernetes: { kustomize: k8s/web/overlays/${e} } }`)}
  - name: web-json
    paths: ["deploy/web-json/**"]
    environments: ${both('{ kubernetes: { manifests: deploy/web-json } }')}`,
    extra: 'checks: { nodePoolFreeMemory: 4Gi }',
  }),
  'ways-policy',
).policy;

const webService = (type: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type, selector: { app: 'web' }, ports: [{ port: 80 }] },
});

interface Way {
  edit: string;
  service: string;
  files: Files;
  plain: [Record<string, unknown>, Record<string, unknown>];
  /** The file the edit was made in: the findings point there. */
  file: string;
}

const WAYS_OF_EDITING: Way[] = [
  {
    edit: 'Helm values: liveness failureThreshold 3 -> 1',
    service: 'web-helm',
    files: { 'charts/web/values-production.yaml': 'replicas: 3\nfailureThreshold: 1\n' },
    plain: [workload({ containers: [app()] }), workload({ containers: [app({ failureThreshold: 1 })] })],
    file: 'charts/web/values-production.yaml',
  },
  {
    edit: 'Helm values: memory 512Mi -> 2Gi',
    service: 'web-helm',
    files: { 'charts/web/values-production.yaml': 'replicas: 3\nmemory: 2Gi\n' },
    plain: [workload({ containers: [app()] }), workload({ containers: [app({ memory: '2Gi' })] })],
    file: 'charts/web/values-production.yaml',
  },
  {
    edit: 'Helm values: a container added with no memory limit and no probes',
    service: 'web-helm',
    files: { 'charts/web/values-production.yaml': 'replicas: 3\ncache: true\n' },
    plain: [workload({ containers: [app()] }), workload({ containers: [app(), NO_LIMIT_NO_PROBES] })],
    file: 'charts/web/values-production.yaml',
  },
  {
    edit: 'Helm values: the Service made type LoadBalancer (exposed outside the cluster)',
    service: 'web-helm',
    files: { 'charts/web/values-production.yaml': 'replicas: 3\nserviceType: LoadBalancer\n' },
    plain: [webService('ClusterIP'), webService('LoadBalancer')],
    file: 'charts/web/values-production.yaml',
  },
  {
    edit: 'kustomize replicas: field 3 -> 17',
    service: 'web-kustomize',
    files: { 'k8s/web/overlays/production/kustomization.yaml': productionOverlay(17) },
    plain: [workload({ containers: [app()] }), workload({ replicas: 17, containers: [app()] })],
    file: 'k8s/web/overlays/production/kustomization.yaml',
  },
  {
    edit: 'kustomize patch: memory 512Mi -> 2Gi',
    service: 'web-kustomize',
    files: { 'k8s/web/overlays/production/memory.yaml': memoryPatch('2Gi') },
    plain: [workload({ containers: [app()] }), workload({ containers: [app({ memory: '2Gi' })] })],
    file: 'k8s/web/overlays/production/memory.yaml',
  },
  {
    edit: 'kustomize patch: a container added with no memory limit and no probes',
    service: 'web-kustomize',
    files: {
      'k8s/web/overlays/production/memory.yaml': memoryPatch('512Mi', [
        { name: 'cache', image: 'registry.example/cache:1.0.0' },
      ]),
    },
    plain: [workload({ containers: [app()] }), workload({ containers: [app(), NO_LIMIT_NO_PROBES] })],
    file: 'k8s/web/overlays/production/memory.yaml',
  },
  {
    edit: 'JSON manifest: liveness failureThreshold 3 -> 1',
    service: 'web-json',
    files: {
      'deploy/web-json/deployment.json': JSON.stringify(
        workload({ containers: [app({ failureThreshold: 1 })] }),
        null,
        2,
      ),
    },
    plain: [workload({ containers: [app()] }), workload({ containers: [app({ failureThreshold: 1 })] })],
    file: 'deploy/web-json/deployment.json',
  },
];

/** Distinct `rule level` of the object rules: an edit rendered in two environments is one verdict twice. */
const objectVerdicts = (findings: Finding[]) =>
  [...new Set(findings.filter((f) => OBJECT_RULES.has(f.rule)).map((f) => `${f.rule} ${f.level}`))].sort();

describe('each way of writing an edit is judged like the plain YAML edit', () => {
  let ways: TestRepo;
  let waysBase: string;
  beforeAll(() => {
    ways = createTestRepo();
    waysBase = ways.commit(WAYS, 'web, four ways');
  });
  afterAll(() => ways?.remove());

  for (const way of WAYS_OF_EDITING) {
    test(way.edit, async () => {
      ways.git('reset', '--quiet', '--hard', waysBase);
      const commit = ways.commit(way.files, way.edit);
      const findings = await createChangeChecker(ways.dir)(
        waysPolicy,
        makeChange({ service: way.service, commit, baseCommit: waysBase }),
      );
      const [before, after] = way.plain.map((o) => ({ 'deploy/web.yaml': stringify(o) }));
      const plain = await checkChange(waysPolicy, memoryTrees(before, after), {});
      const expected = objectVerdicts(plain);
      assert.notDeepEqual(expected, [], 'the plain edit must be something the object rules see');
      assert.deepEqual(objectVerdicts(findings), expected, JSON.stringify(findings, null, 1));

      // Every finding of the object rules points at the file the edit was made in; those from a
      // render name the rendered object too.
      for (const f of findings.filter((f) => OBJECT_RULES.has(f.rule))) {
        assert.equal(f.file, way.file, JSON.stringify(f));
        if (/^(staging|production) render/.test(f.message))
          assert.match(f.message, /^(staging|production) render, (Deployment|Service) shop\/web \(from [^)]*\): /);
      }
    });
  }
});
