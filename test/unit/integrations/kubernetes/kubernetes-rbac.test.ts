// The generated RBAC of the image-tag deployer (`airlock rbac`): exact names, no verb Kubernetes
// cannot narrow by name, never an empty resourceNames list, and docs/kubernetes-rbac.yaml is its
// output for the example policy. test/kubernetes/deployer.test.ts applies it to a real API server.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  capacityReaderRbac,
  deployerRbac,
  type RbacObject,
} from '../../../../src/integrations/kubernetes/kubernetes-rbac';
import { rbacForPolicy } from '../../../../src/cli/rbac';
import { runCli } from '../../../../src/cli/main';
import { parsePolicy } from '../../../../src/policy/config/load';

const ROOT = resolve(__dirname, '../../../..');
const read = (p: string) => readFileSync(resolve(ROOT, p), 'utf8');

/** policy/airlock.policy.yaml with the kubernetes section docs/kubernetes.md shows. */
function examplePolicyText(): string {
  const block = /```yaml\n(kubernetes:\n[\s\S]*?)```/.exec(read('docs/kubernetes.md'))?.[1];
  if (!block) throw new Error('docs/kubernetes.md: no ```yaml kubernetes: block');
  return `${read('policy/airlock.policy.yaml')}\n${block}`;
}

export const EXAMPLE_HEADER = `# Example: \`airlock rbac --policy P --capacity-user airlock-capacity\`, P being policy/airlock.policy.yaml
# with the kubernetes section of docs/kubernetes.md (test/unit/integrations/kubernetes/kubernetes-rbac.test.ts
# keeps this file equal to that output). Generate your own from your policy.
`;

const rules = (o: RbacObject) => (o as unknown as { rules: Record<string, string[]>[] }).rules;

describe('airlock rbac', () => {
  const objects = deployerRbac({
    namespaces: ['payments-staging', 'payments'],
    stagingNamespace: 'payments-staging',
    services: ['payment-service', 'search-service'],
    subject: { kind: 'User', name: 'airlock-deployer' },
  });

  test("one Role per service and namespace, on the service's Deployment and its canary only", () => {
    const roles = objects.filter((o) => o.kind === 'Role');
    expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'payments-staging/airlock-deployer-payment-service',
      'payments-staging/airlock-deployer-search-service',
      'payments/airlock-deployer-payment-service',
      'payments/airlock-deployer-search-service',
    ]);
    expect(rules(roles[0])).toEqual([
      {
        apiGroups: ['apps'],
        resources: ['deployments'],
        resourceNames: ['payment-service', 'payment-service-canary'],
        verbs: ['get', 'create', 'patch', 'delete'],
      },
      // The staged pods' digests: read only, never a write on pods, and in staging only.
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    expect(rules(roles[2]).some((r) => r.resources.includes('pods'))).toBe(false);
    for (const r of roles)
      for (const rule of rules(r)) {
        if (rule.resources.includes('pods')) {
          expect(rule.verbs).toEqual(['list']);
          continue;
        }
        // Verbs RBAC cannot narrow by name would grant every Deployment of the namespace.
        expect(rule.verbs).not.toContain('list');
        expect(rule.verbs).not.toContain('watch');
        expect(rule.verbs).not.toContain('deletecollection');
        expect(rule.resourceNames.length).toBeGreaterThan(0);
      }
    const binding = objects.find((o) => o.kind === 'RoleBinding')!;
    expect(binding).toMatchObject({
      roleRef: { kind: 'Role', name: 'airlock-deployer-payment-service' },
      subjects: [{ kind: 'User', name: 'airlock-deployer' }],
    });
  });

  test('no service means no Role: an empty resourceNames list would allow every name', () => {
    expect(() => deployerRbac({ namespaces: ['a'], services: [], subject: { kind: 'User', name: 'u' } })).toThrow(
      /lists no services.*every Deployment/,
    );
  });

  test('one namespace for both environments gets each Role once; a ServiceAccount subject', () => {
    const same = deployerRbac({
      namespaces: ['apps', 'apps'],
      services: ['web'],
      subject: { kind: 'ServiceAccount', namespace: 'airlock', name: 'deployer' },
    });
    expect(same.map((o) => o.kind)).toEqual(['Role', 'RoleBinding']);
    expect(same[1]).toMatchObject({ subjects: [{ kind: 'ServiceAccount', namespace: 'airlock', name: 'deployer' }] });
  });

  test("RBAC objects never carry the object sets' service label (pruning would delete them)", () => {
    for (const o of [...objects, ...capacityReaderRbac({ kind: 'User', name: 'c' })])
      expect(JSON.stringify(o.metadata)).not.toContain('airlock.dev/service');
  });

  test('the capacity reader is a read-only ClusterRole of its own: list nodes and pods, nothing else', () => {
    const [role, binding] = capacityReaderRbac({ kind: 'User', name: 'airlock-capacity' });
    expect(role).toMatchObject({ kind: 'ClusterRole', metadata: { name: 'airlock-capacity-reader' } });
    expect(rules(role)).toEqual([{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['list'] }]);
    expect(binding).toMatchObject({ kind: 'ClusterRoleBinding', subjects: [{ name: 'airlock-capacity' }] });
  });

  test('docs/kubernetes-rbac.yaml is the output for the example policy, and parses back to the objects', () => {
    const policy = parsePolicy(examplePolicyText(), 'example').policy;
    const text = rbacForPolicy(policy, { capacityUser: 'airlock-capacity' });
    expect(read('docs/kubernetes-rbac.yaml')).toBe(EXAMPLE_HEADER + text);
    const parsed = parseAllDocuments(text).map((d) => d.toJS() as RbacObject);
    expect(parsed).toEqual([
      ...deployerRbac({
        namespaces: ['payments-staging', 'payments'],
        stagingNamespace: 'payments-staging',
        services: ['notification-service', 'search-service', 'payment-service'],
        subject: { kind: 'User', name: 'airlock-deployer' },
      }),
      ...capacityReaderRbac({ kind: 'User', name: 'airlock-capacity' }),
    ]);
  });

  test('the command: --policy prints the YAML; bad input exits 2 with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-rbac-'));
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, examplePolicyText());
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['rbac', ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const ok = await run('--policy', file, '--service-account', 'airlock/deployer');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('resourceNames: [payment-service, payment-service-canary]');
    expect(ok.out).toContain('kind: ServiceAccount');
    expect(ok.out).not.toContain('airlock-capacity-reader\n'); // not asked for
    expect(ok.out).toMatch(/No airlock-capacity-reader/);

    const both = await run('--policy', file, '--user', 'a', '--service-account', 'b/c');
    expect(both).toMatchObject({ code: 2, err: expect.stringMatching(/--user or --service-account, not both/) });
    const noSection = join(dir, 'plain.yaml');
    writeFileSync(noSection, read('policy/airlock.policy.yaml'));
    expect(await run('--policy', noSection)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no kubernetes section/),
    });
    expect((await run('--policy', join(dir, 'missing.yaml'))).code).toBe(2);
  });

  test('a policy that renders services says the object-set role is also needed, and what it allows', () => {
    const text = examplePolicyText().replace(
      '  - name: payment-service\n    paths: ["k8s/*/payment-service/**", "services/payment-service/**"]',
      '  - name: payment-service\n    paths: ["k8s/*/payment-service/**", "services/payment-service/**"]\n    environments:\n      staging: { kubernetes: { kustomize: k8s/staging/payment-service } }\n      production: { kubernetes: { kustomize: k8s/production/payment-service } }',
    );
    const out = rbacForPolicy(parsePolicy(text, 't').policy);
    expect(out).toMatch(
      /renders payment-service from the repository: also apply\n# docs\/kubernetes-object-set-rbac.yaml/,
    );
    expect(out).toMatch(/allows every object of its kinds in the namespace/);
  });
});
