// vacuous-memory-limit and vacuous-probe: a container the change adds or edits that the memory or
// probe rules cannot judge is reported, at the policy's level; untouched containers are not.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { stringify } from 'yaml';
import { checkChange } from '../../src/policy/engine/check-change';
import { fixturePolicy, OUTSIDE_WINDOWS, verdicts } from './fixture-change';
import { memoryTrees } from './memory-tree';
import { workload } from './workload-object';

const FILE = 'deploy/web.yaml';
const yaml = (...objects: Record<string, unknown>[]) => objects.map((o) => stringify(o)).join('---\n');
const check = (before: string | undefined, after: string, checks: Record<string, unknown> = {}) =>
  checkChange(fixturePolicy(checks), memoryTrees(before === undefined ? {} : { [FILE]: before }, { [FILE]: after }), {
    now: OUTSIDE_WINDOWS,
  });
const vacuous = <T extends { rule: string }>(findings: T[]) => findings.filter((f) => f.rule.startsWith('vacuous-'));

describe('vacuous rules', () => {
  it('an added container with no memory limit and no probes: one finding per rule that cannot judge it, saying why', async () => {
    const findings = await check(undefined, yaml(workload({ containers: [{ name: 'app', probes: false }] })));
    assert.deepEqual(verdicts(findings), ['vacuous-memory-limit warn', 'vacuous-probe warn']);
    const [memory, probe] = findings;
    assert.equal(memory.file, FILE);
    assert.equal(memory.line, 17); // the container's own line
    assert.match(memory.message, /container "app" in Deployment web has no resources\.limits\.memory/);
    assert.match(memory.message, /memory-increase has no limit to compare and memory-capacity counts it as 0/);
    assert.match(probe.message, /no livenessProbe, so liveness-probe has no failureThreshold to judge/);
    assert.match(probe.message, /no readinessProbe, so Kubernetes counts it ready as soon as it starts/);
  });

  it('a limit and both probes: nothing to report; only a missing readiness probe: the probe finding names only it', async () => {
    assert.deepEqual(await check(undefined, yaml(workload({ containers: [{ name: 'app', memory: '1Gi' }] }))), []);
    const noReadiness = workload({ containers: [{ name: 'app', memory: '1Gi' }] });
    const c = (noReadiness.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0];
    delete c.readinessProbe;
    const findings = await check(undefined, yaml(noReadiness));
    assert.deepEqual(verdicts(findings), ['vacuous-probe warn']);
    assert.doesNotMatch(findings[0].message, /livenessProbe/);
  });

  it('a request without a limit is still vacuous: the capacity check counts only the request', async () => {
    const obj = workload({ containers: [{ name: 'app' }] });
    const c = (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0];
    c.resources = { requests: { memory: '256Mi' } };
    const [f] = vacuous(await check(undefined, yaml(obj)));
    assert.equal(f.rule, 'vacuous-memory-limit');
    assert.match(f.message, /counts only its request \(256Mi\)/);
  });

  it('unchanged containers of untouched objects, and unchanged containers of an edited object, are left alone', async () => {
    const untouched = workload({ name: 'legacy', containers: [{ name: 'old', probes: false }] });
    const before = workload({
      containers: [
        { name: 'app', memory: '512Mi' },
        { name: 'sidecar', probes: false },
      ],
    });
    const after = workload({
      containers: [
        { name: 'app', memory: '512Mi', failureThreshold: 4 },
        { name: 'sidecar', probes: false },
      ],
    });
    assert.deepEqual(await check(yaml(untouched, before), yaml(untouched, after)), []);
    // The same sidecar edited (a new image) is the change's doing: now it is reported.
    const edited = structuredClone(after);
    const sidecar = (edited.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[1];
    sidecar.image = 'registry.example/sidecar:2.0.0';
    const findings = await check(yaml(untouched, before), yaml(untouched, edited));
    assert.deepEqual(verdicts(findings), ['vacuous-memory-limit warn', 'vacuous-probe warn']);
    for (const f of findings) assert.match(f.message, /container "sidecar" in Deployment web/);
  });

  it('init containers: a memory limit is required of all, probes only of native sidecars (restartPolicy Always)', async () => {
    const obj = workload({
      containers: [{ name: 'app', memory: '1Gi' }],
      initContainers: [
        { name: 'migrate', probes: false },
        { name: 'proxy', memory: '64Mi', probes: false, restartPolicy: 'Always' },
      ],
    });
    const findings = vacuous(await check(undefined, yaml(obj)));
    assert.deepEqual(
      findings.map((f) => `${f.rule}: ${/"(\w+)"/.exec(f.message)![1]}`),
      ['vacuous-memory-limit: migrate', 'vacuous-probe: proxy'],
    );
    assert.match(findings[0].message, /^init container "migrate" in Deployment web/);
  });

  it('a Job runs to completion: no probe is asked of it, a memory limit is', async () => {
    const job = workload({ kind: 'Job', name: 'backfill', containers: [{ name: 'run', probes: false }] });
    assert.deepEqual(verdicts(await check(undefined, yaml(job))), ['vacuous-memory-limit warn']);
  });

  it('StatefulSets and DaemonSets are judged like Deployments', async () => {
    for (const kind of ['StatefulSet', 'DaemonSet']) {
      const findings = await check(undefined, yaml(workload({ kind, containers: [{ name: 'app', probes: false }] })));
      assert.deepEqual(verdicts(findings), ['vacuous-memory-limit warn', 'vacuous-probe warn'], kind);
    }
  });

  it('a kustomize patch file is a partial object: not judged as a workload of its own', async () => {
    const patch = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/app:2.0.0
`;
    const overlay = 'k8s/overlays/production';
    const files = (image: string) => ({
      [`${overlay}/kustomization.yaml`]: 'resources: [../../base]\npatches:\n  - path: image.yaml\n',
      [`${overlay}/image.yaml`]: patch.replace('2.0.0', image),
    });
    const findings = await checkChange(fixturePolicy(), memoryTrees(files('1.0.0'), files('2.0.0')), {
      now: OUTSIDE_WINDOWS,
    });
    assert.deepEqual(vacuous(findings), []);
    // The same document as a resource of the overlay is a workload, and is judged.
    const asResource = (image: string) => ({
      [`${overlay}/kustomization.yaml`]: 'resources: [image.yaml]\n',
      [`${overlay}/image.yaml`]: patch.replace('2.0.0', image),
    });
    const judged = await checkChange(fixturePolicy(), memoryTrees(asResource('1.0.0'), asResource('2.0.0')), {
      now: OUTSIDE_WINDOWS,
    });
    assert.deepEqual(
      vacuous(judged).map((f) => f.rule),
      ['vacuous-memory-limit', 'vacuous-probe'],
    );
  });

  it('the policy can make either rule block', async () => {
    const added = yaml(workload({ containers: [{ name: 'app', probes: false }] }));
    const probes = await check(undefined, added, { vacuous: { memoryLimit: 'warn', probes: 'block' } });
    assert.deepEqual(verdicts(probes), ['vacuous-probe block', 'vacuous-memory-limit warn']);
    const memory = await check(undefined, added, { vacuous: { memoryLimit: 'block', probes: 'warn' } });
    assert.deepEqual(verdicts(memory), ['vacuous-memory-limit block', 'vacuous-probe warn']);
  });
});
