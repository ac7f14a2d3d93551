// The gate on rendered objects without any tool: the objects are given as a render would return
// them. An edit judged on the rendered objects gives the findings the same edit gives as a manifest
// file, and each finding names the object, its origin and the changed files its render reads.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { stringify } from 'yaml';
import { checkChange } from '../../src/policy/engine/check-change';
import { checkRendered, type EnvironmentRenders } from '../../src/policy/engine/check-rendered';
import { fixturePolicy, OUTSIDE_WINDOWS, verdicts } from './fixture-change';
import { memoryTrees } from './memory-tree';
import { workload, type ContainerSpec } from './workload-object';

const app = (o: Partial<ContainerSpec> = {}): ContainerSpec => ({ name: 'app', memory: '512Mi', ...o });
const TEMPLATE = 'charts/web/templates/deployment.yaml';
const VALUES = 'charts/web/values-production.yaml';

function newImage(obj: Record<string, unknown>): Record<string, unknown> {
  const c = (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0];
  c.image = 'registry.example/app:2.0.0';
  return obj;
}

const service = (type: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type, selector: { app: 'web' }, ports: [{ port: 80 }] },
});
const configMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'web-config', namespace: 'shop' },
  data,
});

const EDITS: [string, Record<string, unknown>, Record<string, unknown>][] = [
  [
    'liveness failureThreshold 3 -> 1',
    workload({ containers: [app()] }),
    workload({ containers: [app({ failureThreshold: 1 })] }),
  ],
  ['memory 512Mi -> 2Gi', workload({ containers: [app()] }), workload({ containers: [app({ memory: '2Gi' })] })],
  ['replicas 3 -> 17', workload({ containers: [app()] }), workload({ replicas: 17, containers: [app()] })],
  [
    'a container added with no limit and no probes',
    workload({ containers: [app()] }),
    workload({ containers: [app(), { name: 'cache', probes: false }] }),
  ],
  ['a Service made type LoadBalancer', service('ClusterIP'), service('LoadBalancer')],
  [
    'a GitHub token written into a ConfigMap',
    configMap({ LOG_LEVEL: 'info' }),
    configMap({ LOG_LEVEL: 'info', GITHUB: `ghp_${'a1B2'.repeat(9)}` }),
  ],
  [
    'an image tag in namespace production',
    workload({ namespace: 'production', containers: [app()] }),
    newImage(workload({ namespace: 'production', containers: [app()] })),
  ],
  [
    'nothing the rules judge (an image tag)',
    workload({ containers: [app()] }),
    newImage(workload({ containers: [app()] })),
  ],
];

const rendered = (before: Record<string, unknown>, after: Record<string, unknown>): EnvironmentRenders => ({
  environment: 'production',
  base: [{ object: before, source: TEMPLATE }],
  head: [{ object: after, source: TEMPLATE }],
  changedInputs: [VALUES],
});

describe('rendered objects are judged like the manifest edit they amount to', () => {
  for (const [edit, before, after] of EDITS) {
    it(edit, async () => {
      const policy = fixturePolicy();
      const plain = await checkChange(
        policy,
        memoryTrees({ 'deploy/web.yaml': stringify(before) }, { 'deploy/web.yaml': stringify(after) }),
        { now: OUTSIDE_WINDOWS },
      );
      const fromRender = await checkRendered(policy, [rendered(before, after)], { now: OUTSIDE_WINDOWS });
      // image-only is a verdict on the whole change, not on an object: checkRendered leaves it to the files.
      const objectVerdicts = verdicts(plain.filter((f) => f.rule !== 'image-only'));
      assert.deepEqual(verdicts(fromRender), objectVerdicts);
      if (edit.startsWith('nothing')) assert.deepEqual(verdicts(plain), ['image-only warn']);
      // The sensitive categories are judged on objects too, not only on the files.
      else if (/LoadBalancer|token|production/.test(edit))
        assert.match(verdicts(fromRender).join(), /^sensitive-(networking|secrets|production) /);
      else assert.notDeepEqual(plain, [], 'the edit must be something the rules see');
    });
  }
});

describe('findings name the object and the files that produced it', () => {
  it('memory doubled for three services through one values file alone: a memory-increase for each rendered Deployment', async () => {
    const names = ['web', 'api', 'worker'];
    const at = (memory: string) =>
      names.map((name) => ({ object: workload({ name, containers: [app({ memory })] }), source: TEMPLATE }));
    // The values file is the only changed file: no template or manifest of the change shows it.
    const r: EnvironmentRenders = {
      environment: 'production',
      base: at('512Mi'),
      head: at('1Gi'),
      changedInputs: [VALUES],
    };
    const findings = await checkRendered(fixturePolicy(), [r], { now: OUTSIDE_WINDOWS });
    assert.deepEqual(
      findings.map((f) => [f.rule, f.level, f.file, f.line]),
      names.map(() => ['memory-increase', 'block', VALUES, undefined]),
    );
    assert.deepEqual(findings.map((f) => /Deployment shop\/(\w+)/.exec(f.message)![1]).sort(), [...names].sort());
    for (const f of findings) assert.match(f.message, /rises from 512Mi to 1Gi \(\+100 %/);
  });

  it('a values edit: the values file is the file to open; the template is named as the origin; other objects origins are not', async () => {
    const r = rendered(workload({ containers: [app()] }), workload({ containers: [app({ memory: '2Gi' })] }));
    r.changedInputs = ['charts/web/templates/service.yaml', VALUES];
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' } };
    r.base.push({ object: service, source: 'charts/web/templates/service.yaml' });
    r.head.push({
      object: { ...service, spec: { ports: [{ port: 81 }] } },
      source: 'charts/web/templates/service.yaml',
    });
    const [f] = await checkRendered(fixturePolicy(), [r]);
    assert.equal(f.rule, 'memory-increase');
    assert.equal(f.file, VALUES);
    assert.equal(f.line, undefined);
    assert.equal(
      f.message.split(': ')[0],
      `production render, Deployment shop/web (from ${TEMPLATE}; the change edits ${VALUES}, which this render reads)`,
    );
    assert.match(f.message, /container "app" in Deployment web rises from 512Mi to 2Gi/);
  });

  it('an overlay: the edited base file comes first, the patch and kustomization beside it', async () => {
    const base = 'k8s/base/web/deployment.yaml';
    const inputs = ['k8s/overlays/production/kustomization.yaml', 'k8s/overlays/production/memory.yaml', base];
    const r: EnvironmentRenders = {
      environment: 'production',
      base: [{ object: workload({ containers: [app()] }), source: base }],
      head: [{ object: workload({ replicas: 17, containers: [app()] }), source: base }],
      changedInputs: inputs,
    };
    const [f] = await checkRendered(fixturePolicy(), [r]);
    assert.equal(f.rule, 'replicas');
    assert.equal(f.file, base);
    assert.match(
      f.message,
      /^production render, Deployment shop\/web \(from k8s\/base\/web\/deployment\.yaml, edited by this change; the change edits k8s\/overlays\/production\/kustomization\.yaml, k8s\/overlays\/production\/memory\.yaml, which this render reads\): replicas of Deployment web goes from 3 to 17/,
    );
  });

  it('objects the change leaves as they were give nothing, even when they have no probes or limits', async () => {
    const bare = workload({ containers: [{ name: 'app', probes: false }] });
    const findings = await checkRendered(fixturePolicy(), [
      {
        environment: 'staging',
        base: [{ object: bare, source: TEMPLATE }],
        head: [{ object: bare, source: TEMPLATE }],
      },
    ]);
    assert.deepEqual(findings, []);
  });

  it('a rendered scaling change during a no_scaling window of the service blocks as planned-operation', async () => {
    const r = rendered(workload({ containers: [app()] }), workload({ replicas: 5, containers: [app()] }));
    const inWindow = new Date('2026-03-02T14:30:00Z'); // the fixture policy's weekday load test
    const findings = await checkRendered(fixturePolicy(), [r], { now: inWindow, service: 'payment-service' });
    assert.deepEqual(verdicts(findings), ['planned-operation block']);
    assert.match(findings[0].message, /weekday load test/);
    assert.equal(findings[0].file, VALUES);
    // Another service, or outside the window: nothing.
    assert.deepEqual(await checkRendered(fixturePolicy(), [r], { now: inWindow, service: 'search-service' }), []);
    assert.deepEqual(
      await checkRendered(fixturePolicy(), [r], { now: OUTSIDE_WINDOWS, service: 'payment-service' }),
      [],
    );
  });
});
