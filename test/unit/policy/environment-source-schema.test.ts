// services[].environments: where each environment's objects and Terraform come from. Every refusal
// names the field path and the reason; policies without environments parse as before (image mode).
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { parsePolicy, PolicyError } from '../../../src/policy/config/load';
import { environmentSource, IMAGE_MODE } from '../../../src/policy/config/environment-source-schema';

const head = `version: 1
approvers: { allowed: [{ id: alice }, { id: bob }] }
services:
  - name: notification-service
    paths: ["k8s/**"]
`;

/** A policy whose one service has `environments` set to the given YAML (indented under it). */
function withEnvironments(yaml: string): string {
  const body = yaml
    .trim()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  return `${head}    environments:\n${body}\n`;
}

function problems(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${err}`);
    return err.problems;
  }
  assert.fail('the policy was accepted');
}

const service = (text: string) => parsePolicy(text).policy.services[0];

test('a service without environments parses as before and gets image-tag mode', () => {
  const s = service(head);
  assert.deepEqual(s, { name: 'notification-service', paths: ['k8s/**'] });
  assert.deepEqual(environmentSource(s, 'staging'), IMAGE_MODE);
  assert.deepEqual(environmentSource(s, 'production'), { kubernetes: { image: {} } });
});

test('each kind of source parses to exactly the shape given, paths normalised', () => {
  const s = service(
    withEnvironments(`
staging:
  kubernetes: { kustomize: ./k8s/overlays/staging/ }
  terraform: { dir: terraform/staging, workspace: staging, varFiles: [terraform/staging.tfvars] }
production:
  kubernetes:
    helm: { chart: charts/search-service, values: [charts/search-service/values-production.yaml], releaseName: search }
`),
  );
  assert.deepEqual(environmentSource(s, 'staging'), {
    kubernetes: { kustomize: 'k8s/overlays/staging' },
    terraform: [
      { dir: 'terraform/staging', workspace: 'staging', varFiles: ['terraform/staging.tfvars'], allowDestroy: false },
    ],
  });
  assert.deepEqual(environmentSource(s, 'production'), {
    kubernetes: {
      helm: {
        chart: 'charts/search-service',
        values: ['charts/search-service/values-production.yaml'],
        releaseName: 'search',
      },
    },
  });
  const m = service(
    withEnvironments(`
staging: { kubernetes: { manifests: deploy/staging } }
production: { kubernetes: { image: {} }, terraform: { dir: tf } }
`),
  );
  assert.deepEqual(environmentSource(m, 'staging'), { kubernetes: { manifests: 'deploy/staging' } });
  assert.deepEqual(environmentSource(m, 'production'), {
    kubernetes: { image: {} },
    terraform: [{ dir: 'tf', varFiles: [], allowDestroy: false }],
  });
  const h = service(
    withEnvironments(`
staging: { kubernetes: { helm: { chart: c, releaseName: r } } }
production: { terraform: { dir: tf } }
`),
  );
  assert.deepEqual(environmentSource(h, 'staging'), {
    kubernetes: { helm: { chart: 'c', values: [], releaseName: 'r' } },
  });
});

test('paths that leave the repo or are absolute are refused, naming the field', () => {
  const bad = (kubernetes: string) =>
    problems(withEnvironments(`staging: { kubernetes: ${kubernetes} }\nproduction: { kubernetes: { image: {} } }`));
  assert.deepEqual(bad('{ kustomize: ../other-repo/k8s }'), [
    'services.0.environments.staging.kubernetes.kustomize: "../other-repo/k8s" contains ".."; paths may not leave the repo',
  ]);
  assert.deepEqual(bad('{ kustomize: "-o/etc/cron.d/x" }'), [
    'services.0.environments.staging.kubernetes.kustomize: "-o/etc/cron.d/x" starts with "-", which kustomize or helm would read as an option',
  ]);
  assert.deepEqual(bad('{ manifests: /etc/kubernetes }'), [
    'services.0.environments.staging.kubernetes.manifests: "/etc/kubernetes" is absolute; paths are relative to the repo root',
  ]);
  assert.deepEqual(bad('{ helm: { chart: charts/a, values: [ok.yaml, "charts/../../x.yaml"], releaseName: a } }'), [
    'services.0.environments.staging.kubernetes.helm.values.1: "charts/../../x.yaml" contains ".."; paths may not leave the repo',
  ]);
  assert.deepEqual(
    problems(
      withEnvironments(
        `staging: { terraform: { dir: 'C:\\tf' } }\nproduction: { terraform: { dir: tf, varFiles: ["/tmp/x.tfvars"] } }`,
      ),
    ),
    [
      'services.0.environments.staging.terraform.dir: "C:\\tf" is absolute; paths are relative to the repo root',
      'services.0.environments.production.terraform.varFiles.0: "/tmp/x.tfvars" is absolute; paths are relative to the repo root',
    ],
  );
});

test('a Kubernetes source is exactly one kind', () => {
  const bad = (kubernetes: string) =>
    problems(withEnvironments(`staging: { kubernetes: ${kubernetes} }\nproduction: { kubernetes: { image: {} } }`));
  assert.deepEqual(bad('{ kustomize: k8s/a, manifests: k8s/b }'), [
    'services.0.environments.staging.kubernetes: gives kustomize and manifests; exactly one of kustomize, helm, manifests, image is allowed',
  ]);
  assert.deepEqual(bad('{}'), [
    'services.0.environments.staging.kubernetes: must say how the objects are rendered: exactly one of kustomize, helm, manifests, image',
  ]);
  assert.match(bad('{ kustomise: k8s/a }').join(), /^services\.0\.environments\.staging\.kubernetes: .*kustomise/);
  assert.match(bad('{ image: { tag: v1 } }').join(), /^services\.0\.environments\.staging\.kubernetes\.image: .*tag/);
});

test('Helm sources need a valid release name; Terraform a valid workspace', () => {
  assert.deepEqual(
    problems(
      withEnvironments(
        `staging: { kubernetes: { helm: { chart: c } } }\nproduction: { kubernetes: { helm: { chart: c, releaseName: Search_Service } } }`,
      ),
    ),
    [
      'services.0.environments.staging.kubernetes.helm.releaseName: Invalid input: expected string, received undefined',
      'services.0.environments.production.kubernetes.helm.releaseName: must be a Helm release name (lower-case letters, digits, "-" and ".")',
    ],
  );
  assert.match(
    problems(
      withEnvironments(`staging: { terraform: { dir: tf, workspace: "a b" } }\nproduction: { terraform: { dir: tf } }`),
    ).join(),
    /^services\.0\.environments\.staging\.terraform\.workspace: must be a Terraform workspace name/,
  );
});

test('an environment gives kubernetes, terraform or both, and both environments are given', () => {
  assert.deepEqual(problems(withEnvironments(`staging: {}\nproduction: { terraform: { dir: tf } }`)), [
    'services.0.environments.staging: must give kubernetes, terraform or both',
  ]);
  assert.deepEqual(problems(withEnvironments(`staging: { kubernetes: { kustomize: k8s/overlays/staging } }`)), [
    'services.0.environments.production: is missing while staging is given; say how production is rendered too ({ kubernetes: { image: {} } } for image-tag mode)',
  ]);
  assert.match(
    problems(withEnvironments(`canary: { terraform: { dir: tf } }`)).join(),
    /^services\.0\.environments: .*canary/,
  );
});

test('an environment may list several Terraform roots, in apply order; production may allow destroy', () => {
  const s = service(
    withEnvironments(`
staging: { terraform: [{ dir: terraform/staging }, { dir: terraform/network, workspace: staging }] }
production: { terraform: [{ dir: terraform/production, allowDestroy: true }, { dir: terraform/network/ }] }
`),
  );
  assert.deepEqual(environmentSource(s, 'staging').terraform, [
    { dir: 'terraform/staging', varFiles: [], allowDestroy: false },
    { dir: 'terraform/network', workspace: 'staging', varFiles: [], allowDestroy: false },
  ]);
  assert.deepEqual(environmentSource(s, 'production').terraform, [
    { dir: 'terraform/production', varFiles: [], allowDestroy: true },
    { dir: 'terraform/network', varFiles: [], allowDestroy: false },
  ]);
});

test('Terraform roots: no empty list, no root twice, allowDestroy only in production', () => {
  const prod = 'production: { terraform: { dir: tf } }';
  assert.deepEqual(problems(withEnvironments(`staging: { terraform: [] }\n${prod}`)), [
    'services.0.environments.staging.terraform: must list at least one root',
  ]);
  assert.deepEqual(problems(withEnvironments(`staging: { terraform: [{ dir: tf }, { dir: ./tf/ }] }\n${prod}`)), [
    'services.0.environments.staging.terraform.1.dir: tf is listed twice',
  ]);
  // The same directory in two workspaces is two states: allowed.
  assert.doesNotThrow(() =>
    parsePolicy(
      withEnvironments(`staging: { terraform: [{ dir: tf, workspace: a }, { dir: tf, workspace: b }] }\n${prod}`),
    ),
  );
  assert.deepEqual(problems(withEnvironments(`staging: { terraform: { dir: tf, allowDestroy: true } }\n${prod}`)), [
    'services.0.environments.staging.terraform.allowDestroy: only applies to production: staging plans may always destroy or replace',
  ]);
  assert.deepEqual(
    problems(
      withEnvironments(
        `staging: { terraform: { dir: tf } }\nproduction: { terraform: { dir: tf, allowDestroy: yes please } }`,
      ),
    ),
    ['services.0.environments.production.terraform.allowDestroy: Invalid input: expected boolean, received string'],
  );
});
