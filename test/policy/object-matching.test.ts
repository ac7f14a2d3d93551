// Objects, not files: the engine matches every object of a change across all its files (kind,
// namespace, name) and the rules judge only what the change adds, deletes or alters. Each fixture
// is one defect of issue 16, with the exact findings it must give.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { resolve } from 'node:path';
import { checkChange } from '../../src/policy/engine/check-change';
import type { Finding } from '../../src/policy/engine/finding';
import { directoryTree } from '../../src/policy/engine/trees/directory-tree';
import { checkFixture, FIXTURES, fixturePolicy, OUTSIDE_WINDOWS } from './fixture-change';
import { memoryTrees } from './memory-tree';

const exact = (findings: Finding[]) => findings.map((f) => [f.rule, f.level, f.file, f.line]);

/** A fixture side as path -> text, to vary it in memory. */
async function readFixture(name: string, side: 'base' | 'head'): Promise<Record<string, string>> {
  const tree = directoryTree(resolve(FIXTURES, name, side));
  return Object.fromEntries(await tree.read(tree.paths()));
}

describe('object matching', () => {
  it('an unchanged LoadBalancer Service beside an edited Deployment in one file is not a networking change', async () => {
    const r = await checkFixture('unchanged-loadbalancer');
    assert.deepEqual(exact(r.findings), []);
  });

  it('a comment-only or formatting-only edit (YAML and Terraform) gives no finding at all', async () => {
    const r = await checkFixture('comment-only-edit');
    assert.deepEqual(exact(r.findings), []);
  });

  it('the same object in two overlay directories is matched file by file', async () => {
    const base = await readFixture('moved-deployment-memory', 'head');
    const text = base['k8s/staging/notification-service/deployment.yaml'].replace('1Gi', '128Mi');
    // Both copies are in the change (the canary one only gains a comment): each is paired with its own file.
    const files = (staging: string, canary: string) => ({
      'k8s/staging/notification-service/deployment.yaml': staging,
      'k8s/canary/notification-service/deployment.yaml': canary,
    });
    const findings = await checkChange(
      fixturePolicy(),
      memoryTrees(files(text, text), files(text.replace('128Mi', '1Gi'), `# canary\n${text}`)),
      { now: OUTSIDE_WINDOWS },
    );
    assert.deepEqual(exact(findings), [
      ['memory-increase', 'block', 'k8s/staging/notification-service/deployment.yaml', 18],
    ]);
  });

  it('Terraform: a content edit is judged; a comment edit beside a heredoc or a template is told apart by the parser', async () => {
    const sg = (extra: string, comment = '') =>
      `resource "aws_security_group" "search" {\n  name   = "search-\${var.env}"${comment}\n  description = <<EOT\nsearch service\nEOT\n${extra}}\n`;
    const path = 'terraform/staging/network.tf';
    const run = (before: string, after: string) =>
      checkChange(fixturePolicy(), memoryTrees({ [path]: before }, { [path]: after }), { now: OUTSIDE_WINDOWS });
    assert.deepEqual(exact(await run(sg(''), sg('', '  # per environment'))), []);
    assert.deepEqual(exact(await run(sg(''), sg('  vpc_id = "vpc-9"\n'))), [
      ['sensitive-networking', 'block', path, 1],
    ]);
  });

  it('a credential a comment-only edit brings is still a leak', async () => {
    const base = await readFixture('comment-only-edit', 'base');
    const head = await readFixture('comment-only-edit', 'head');
    const path = 'k8s/staging/search-service/deployment.yaml';
    head[path] = `# token for the registry: ghp_${'a1B2'.repeat(9)}\n${head[path]}`;
    const findings = await checkChange(fixturePolicy(), memoryTrees(base, head), { now: OUTSIDE_WINDOWS });
    assert.deepEqual(exact(findings), [['sensitive-secrets', 'block', path, 1]]);
  });

  it('a NetworkPolicy moved to a file of its own, as it was, is compared with itself: no finding', async () => {
    const r = await checkFixture('moved-networkpolicy');
    assert.deepEqual(exact(r.findings), []);
  });

  it('a Deployment moved to another file while its memory goes 128Mi -> 1Gi is a memory increase', async () => {
    const r = await checkFixture('moved-deployment-memory');
    assert.deepEqual(exact(r.findings), [
      ['memory-increase', 'block', 'k8s/staging/notification-service/deployment.yaml', 18],
    ]);
    assert.match(
      r.findings[0].message,
      /limits\.memory of container "notification-service" in Deployment notification-service rises from 128Mi to 1Gi \(\+700 %/,
    );
  });
});

describe('what counts toward files-per-change', () => {
  const CONFIG_MAP = (name: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: staging\ndata:\n  mode: fast\n`;
  const files = (n: number, path: (i: number) => string, text: (i: number) => string) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [path(i), text(i)]));

  it('41 docs and one manifest: only the manifest deploys, no files-per-change', async () => {
    const head = {
      ...files(
        41,
        (i) => `docs/guide-${i}.md`,
        (i) => `# Guide ${i}\n`,
      ),
      'k8s/staging/search-service/config.yaml': CONFIG_MAP('search-config'),
    };
    const findings = await checkChange(fixturePolicy(), memoryTrees({}, head), { now: OUTSIDE_WINDOWS });
    assert.deepEqual(exact(findings), []);
  });

  it('41 source files and 6 manifests: 6 files deploy, under maxFilesPerChange 10', async () => {
    const head = {
      ...files(
        41,
        (i) => `src/search/handler-${i}.ts`,
        (i) => `export const h${i} = ${i};\n`,
      ),
      ...files(
        6,
        (i) => `k8s/staging/search-service/config-${i}.yaml`,
        (i) => CONFIG_MAP(`search-config-${i}`),
      ),
    };
    const findings = await checkChange(fixturePolicy(), memoryTrees({}, head), { now: OUTSIDE_WINDOWS });
    assert.deepEqual(exact(findings), []);
    // The same six manifests over a limit of 5 block, the finding naming the files that counted.
    const tight = await checkChange(fixturePolicy({ maxFilesPerChange: 5 }), memoryTrees({}, head), {
      now: OUTSIDE_WINDOWS,
    });
    assert.deepEqual(exact(tight), [['files-per-change', 'block', undefined, undefined]]);
    assert.match(
      tight[0].message,
      /touches 6 files, more than checks\.maxFilesPerChange \(5\), counting only files whose deployable content changed \(k8s\/staging\/search-service\/config-0\.yaml, .*config-4\.yaml and 1 more\)/,
    );
  });

  it('a kustomization, a chart file and a generator input count; a README beside them and CI files do not', async () => {
    const base = {
      'k8s/search/kustomization.yaml':
        'resources: [deployment.yaml]\nconfigMapGenerator:\n  - name: search\n    files: [app.properties]\n',
      'k8s/search/app.properties': 'mode=fast\n',
      'charts/search/Chart.yaml': 'apiVersion: v2\nname: search\nversion: 1.0.0\n',
      'charts/search/values.yaml': 'memory: 512Mi\n',
    };
    const head = {
      'k8s/search/kustomization.yaml':
        'resources: [deployment.yaml]\nconfigMapGenerator:\n  - name: search\n    files: [app.properties]\n  - name: extra\n    literals: [a=b]\n',
      'k8s/search/app.properties': 'mode=slow\n',
      'k8s/search/README.md': '# search\n',
      'charts/search/Chart.yaml': 'apiVersion: v2\nname: search\nversion: 1.0.0\n',
      'charts/search/values.yaml': 'memory: 1Gi\n',
      '.github/workflows/ci.yaml': 'on: push\njobs: {}\n',
    };
    const findings = await checkChange(fixturePolicy({ maxFilesPerChange: 2 }), memoryTrees(base, head), {
      now: OUTSIDE_WINDOWS,
    });
    assert.deepEqual(exact(findings), [['files-per-change', 'block', undefined, undefined]]);
    assert.match(
      findings[0].message,
      /touches 3 files.*\(charts\/search\/values\.yaml, k8s\/search\/app\.properties, k8s\/search\/kustomization\.yaml\)/,
    );
  });
});

describe('image-only changes (checks.imageOnlyChanges)', () => {
  // Five services each move their image (four tags and a digest); maxFilesPerChange 4 so that the
  // five files are over the limit.
  const policy = (imageOnlyChanges: string) => fixturePolicy({ maxFilesPerChange: 4, imageOnlyChanges });
  const FIRST = 'k8s/staging/api-gateway/deployment.yaml';

  it('block (the default): judged like any change, files-per-change and multi-service, plus the image-only note', async () => {
    const r = await checkFixture('image-only-release', policy('block'));
    assert.deepEqual(exact(r.findings), [
      ['files-per-change', 'block', undefined, undefined],
      ['multi-service', 'block', undefined, undefined],
      ['image-only', 'warn', FIRST, undefined],
    ]);
    const note = r.findings[2].message;
    assert.match(note, /^image-only change: the only effect on every object is its image references/);
    assert.match(
      note,
      /Deployment api-gateway, container "api-gateway" in k8s\/staging\/api-gateway\/deployment\.yaml: registry\.example\.com\/api-gateway:1\.0\.0 → registry\.example\.com\/api-gateway:1\.1\.0/,
    );
    assert.match(note, /checkout-service:1\.0\.0 → registry\.example\.com\/checkout-service@sha256:(ab){32}/);
    assert.match(
      note,
      /in 5 service\(s\): api-gateway, checkout-service, notification-service, payment-service, search-service/,
    );
    assert.match(note, /checks\.imageOnlyChanges is block: it is judged like any other change/);
  });

  it('allow: an image-only change may span files and services; only the note remains', async () => {
    const r = await checkFixture('image-only-release', policy('allow'), {
      now: OUTSIDE_WINDOWS,
      service: 'search-service',
    });
    assert.deepEqual(exact(r.findings), [['image-only', 'warn', FIRST, undefined]]);
    assert.match(r.findings[0].message, /checks\.imageOnlyChanges is allow/);
  });

  it('promote-per-service: may span files, but multi-service and service-mismatch still apply', async () => {
    const r = await checkFixture('image-only-release', policy('promote-per-service'), {
      now: OUTSIDE_WINDOWS,
      service: 'search-service',
    });
    assert.deepEqual(exact(r.findings), [
      ['multi-service', 'block', undefined, undefined],
      ['service-mismatch', 'block', undefined, undefined],
      ['image-only', 'warn', FIRST, undefined],
    ]);
  });

  it('an image moved together with anything else is not image-only', async () => {
    const base = await readFixture('image-only-release', 'base');
    const head = await readFixture('image-only-release', 'head');
    const path = 'k8s/staging/search-service/deployment.yaml';
    head[path] = head[path].replace('replicas: 2', 'replicas: 3');
    const findings = await checkChange(policy('allow'), memoryTrees(base, head), { now: OUTSIDE_WINDOWS });
    assert.deepEqual(exact(findings), [
      ['files-per-change', 'block', undefined, undefined],
      ['multi-service', 'block', undefined, undefined],
    ]);
  });
});

describe('a base that was already broken', () => {
  it('unparseable says the base did not parse either; a fixed file is not compared, and its memory is not "added"', async () => {
    // Without a node pool size, any added memory would be a memory-capacity warning.
    const r = await checkFixture('base-duplicate-key', fixturePolicy({ nodePoolFreeMemory: undefined }));
    assert.deepEqual(exact(r.findings), [
      ['unparseable', 'block', 'k8s/staging/search-service/deployment.yaml', 8],
      ['base-unparseable', 'warn', 'k8s/staging/search-service/indexer.yaml', undefined],
    ]);
    assert.match(
      r.findings[0].message,
      /duplicated mapping key.*It did not parse at the base either: it was already broken before this change \(which does not fix it\)/,
    );
    assert.match(
      r.findings[1].message,
      /did not parse at the base \(YAML: duplicated mapping key, line 8\), so its objects \(Deployment search-indexer\) could not be compared/,
    );
  });
});

describe('networking kinds', () => {
  it('an added Istio ServiceEntry and a Gateway API HTTPRoute are networking changes', async () => {
    const r = await checkFixture('networking-kinds');
    assert.deepEqual(exact(r.findings), [
      ['sensitive-networking', 'block', 'k8s/staging/api-gateway/egress.yaml', 2],
      ['sensitive-networking', 'block', 'k8s/staging/api-gateway/route.yaml', 2],
    ]);
    assert.match(r.findings[0].message, /declares ServiceEntry payments-provider/);
  });

  it('Sidecar, EnvoyFilter, AuthorizationPolicy, every Gateway API route and ReferenceGrant too', async () => {
    const kinds: [string, string][] = [
      ['networking.istio.io/v1', 'Sidecar'],
      ['networking.istio.io/v1alpha3', 'EnvoyFilter'],
      ['security.istio.io/v1', 'AuthorizationPolicy'],
      ['gateway.networking.k8s.io/v1', 'GRPCRoute'],
      ['gateway.networking.k8s.io/v1alpha2', 'TCPRoute'],
      ['gateway.networking.k8s.io/v1alpha2', 'TLSRoute'],
      ['gateway.networking.k8s.io/v1alpha2', 'UDPRoute'],
      ['gateway.networking.k8s.io/v1alpha1', 'FutureRoute'],
      ['gateway.networking.k8s.io/v1beta1', 'ReferenceGrant'],
    ];
    for (const [apiVersion, kind] of kinds) {
      const head = {
        'k8s/staging/api-gateway/x.yaml': `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: x\nspec: {}\n`,
      };
      const findings = await checkChange(fixturePolicy(), memoryTrees({}, head), { now: OUTSIDE_WINDOWS });
      assert.deepEqual(exact(findings), [['sensitive-networking', 'block', 'k8s/staging/api-gateway/x.yaml', 2]], kind);
    }
  });
});
