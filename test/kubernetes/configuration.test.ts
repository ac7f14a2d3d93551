// The policy's kubernetes section and AIRLOCK_DEPLOYER: optional for the simulation, refused
// with the field's name when wrong, required (at worker start) for the Kubernetes deployer.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy, PolicyError } from '../../src/policy/config/load';
import { loadConfig } from '../../src/worker/config';
import { createKubernetesWiring } from '../../src/worker/kubernetes-wiring';
import { testPolicyYaml } from '../helpers/harness';

test('a policy without a kubernetes section still parses; a full one parses with defaults', () => {
  assert.equal(parsePolicy(testPolicyYaml(), 't').policy.kubernetes, undefined);
  const k = parsePolicy(
    testPolicyYaml({
      extra: 'kubernetes:\n  staging: { namespace: app-staging }\n  production: { context: prod, namespace: app }\n',
    }),
    't',
  ).policy.kubernetes;
  assert.deepEqual(k, {
    staging: { namespace: 'app-staging' },
    production: { context: 'prod', namespace: 'app' },
    rolloutTimeoutMinutes: 15,
  });
});

test('a wrong kubernetes section is refused naming the field', () => {
  const refused = (section: string, field: RegExp) =>
    assert.throws(
      () => parsePolicy(testPolicyYaml({ extra: section }), 't'),
      (err: Error) => {
        assert.ok(err instanceof PolicyError);
        assert.match(err.message, field);
        return true;
      },
    );
  refused(
    'kubernetes:\n  staging: { namespace: Not_A_Namespace }\n  production: { namespace: app }\n',
    /kubernetes\.staging\.namespace: must be a Kubernetes namespace name/,
  );
  refused('kubernetes:\n  staging: { namespace: app-staging }\n', /kubernetes\.production: /);
  refused(
    'kubernetes:\n  staging: { namespace: a, cluster: x }\n  production: { namespace: b }\n',
    /kubernetes\.staging: .*cluster/,
  );
  refused(
    'kubernetes:\n  staging: { namespace: a }\n  production: { namespace: b }\n  rolloutTimeoutMinutes: 0\n',
    /kubernetes\.rolloutTimeoutMinutes: must be a positive number of minutes/,
  );
});

test('AIRLOCK_DEPLOYER: simulated by default, kubernetes with KUBECONFIG, anything else refused', () => {
  assert.equal(loadConfig({}).deployer, 'simulated');
  const c = loadConfig({ AIRLOCK_DEPLOYER: 'kubernetes', KUBECONFIG: '/etc/airlock/kubeconfig' });
  assert.equal(c.deployer, 'kubernetes');
  assert.equal(c.kubeconfigPath, '/etc/airlock/kubeconfig');
  assert.throws(() => loadConfig({ AIRLOCK_DEPLOYER: 'helm' }), /config: AIRLOCK_DEPLOYER: /);
});

/** A kubeconfig that points nowhere: the wiring only reads it. */
function kubeconfigFile(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return { dir, path };
}

test('the Kubernetes deployer refuses to start without the policy section', () => {
  const { path } = kubeconfigFile();
  assert.throws(
    () => createKubernetesWiring(path, () => parsePolicy(testPolicyYaml(), 't')),
    /policy: kubernetes: the section is required when AIRLOCK_DEPLOYER=kubernetes/,
  );
  const wiring = createKubernetesWiring(path, () =>
    parsePolicy(
      testPolicyYaml({ extra: 'kubernetes:\n  staging: { namespace: a }\n  production: { namespace: b }\n' }),
      't',
    ),
  );
  assert.equal(wiring.deployer.kind, 'kubernetes');
});

test('a policy with Terraform roots needs the state directory before the worker starts', () => {
  const { dir, path } = kubeconfigFile();
  const policy = () =>
    parsePolicy(
      testPolicyYaml({
        services: `  - name: user-database
    paths: ["terraform/**"]
    environments:
      staging: { terraform: { dir: terraform/staging } }
      production: { terraform: { dir: terraform/production } }`,
        extra: 'kubernetes:\n  staging: { namespace: a }\n  production: { namespace: b }\n',
      }),
      't',
    );
  assert.throws(
    () => createKubernetesWiring(path, policy, { repoDir: dir }),
    /^Error: config: AIRLOCK_TERRAFORM_STATE_DIR: required: the policy gives user-database Terraform roots/,
  );
  const wiring = createKubernetesWiring(path, policy, { repoDir: dir, terraformStateDir: join(dir, 'tfstate') });
  assert.equal(wiring.deployer.kind, 'change+kubernetes');
});
