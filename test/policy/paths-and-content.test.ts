// Forbidden paths, reach through Kustomize, sensitive content, change size and malformed input.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { checkFixture, fixturePolicy, verdicts } from './fixture-change';

describe('forbidden paths', () => {
  it('blocks the story globs, a deletion alike, and the policy file itself', async () => {
    const r = await checkFixture('forbidden-paths');
    assert.deepEqual(
      r.findings.map((f) => [f.rule, f.file]),
      [
        ['forbidden-path', 'airlock.policy.yaml'],
        ['forbidden-path', 'k8s/production/payment-service/hpa.yaml'],
        ['forbidden-path', 'k8s/staging/payment-service/secrets/README.md'],
        ['sensitive-production', 'k8s/production/payment-service/hpa.yaml'],
      ],
    );
    assert.match(r.findings[1].message, /\(deleted\) matches forbidden path k8s\/production\/\*\*/);
    assert.match(r.findings[2].message, /\*\*\/secrets\/\*\*/);
  });

  it('the policy file stays forbidden when the policy lists no forbidden paths at all', async () => {
    const r = await checkFixture('forbidden-paths', fixturePolicy({ forbiddenPaths: [] }));
    assert.deepEqual(r.rules('block'), ['forbidden-path']);
    assert.deepEqual(
      r.findings.filter((f) => f.level === 'block').map((f) => f.file),
      ['airlock.policy.yaml'],
    );
    assert.match(r.findings[0].message, /Airlock's own policy/);
  });

  it('a Kustomize base used by a production overlay is reached through the overlay', async () => {
    const r = await checkFixture('kustomize-base-reach');
    assert.deepEqual(r.rules('block'), ['reach']);
    const reach = r.findings.find((f) => f.rule === 'reach')!;
    assert.equal(reach.file, 'k8s/base/payment-service/deployment.yaml');
    assert.match(reach.message, /used by k8s\/production\/payment-service/);
  });

  it('reach is judged against the policy globs: without k8s/production/** it is only a production warning', async () => {
    const r = await checkFixture(
      'kustomize-base-reach',
      fixturePolicy({ forbiddenPaths: ['terraform/production/**'] }),
    );
    assert.equal(r.decision, 'allow');
    // The base's container has neither a memory limit nor probes: the memory and probe rules cannot judge it.
    // Its only edit is the image: an image-only change, said so (a warning).
    assert.deepEqual(r.rules(), ['image-only', 'sensitive-production', 'vacuous-memory-limit', 'vacuous-probe']);
  });
});

describe('sensitive content', () => {
  it('a Secret, an Ingress and a literal DB_PASSWORD block by default; API_TOKEN from a secretKeyRef does not', async () => {
    const r = await checkFixture('sensitive-content');
    assert.deepEqual(
      r.findings.map((f) => [f.rule, f.file, f.level]),
      [
        ['sensitive-secrets', 'k8s/staging/payment-service/db-credentials.yaml', 'block'],
        ['sensitive-networking', 'k8s/staging/payment-service/ingress.yaml', 'block'],
        ['sensitive-secrets', 'k8s/staging/payment-service/worker.yaml', 'block'],
        ['vacuous-memory-limit', 'k8s/staging/payment-service/worker.yaml', 'warn'],
        ['vacuous-probe', 'k8s/staging/payment-service/worker.yaml', 'warn'],
      ],
    );
    assert.match(r.findings[2].message, /DB_PASSWORD/);
    assert.doesNotMatch(r.findings[2].message, /API_TOKEN/);
  });

  it('the policy can turn a category into a warning', async () => {
    const policy = fixturePolicy();
    const r = await checkFixture(
      'sensitive-content',
      fixturePolicy({ sensitive: { ...policy.checks.sensitive, secrets: 'warn', networking: 'warn' } }),
    );
    assert.equal(r.decision, 'allow');
    assert.deepEqual(verdicts(r.findings).sort(), [
      'sensitive-networking warn',
      'sensitive-secrets warn',
      'sensitive-secrets warn',
      'vacuous-memory-limit warn',
      'vacuous-probe warn',
    ]);
  });
});

describe('blast radius of the change', () => {
  it('11 files are more than maxFilesPerChange 10', async () => {
    const r = await checkFixture('too-many-files');
    assert.deepEqual(r.rules(), ['files-per-change']);
    assert.match(r.findings[0].message, /11 files, more than checks.maxFilesPerChange \(10\)/);
    assert.equal(r.findings[0].file, undefined);
  });

  it('11 files pass at maxFilesPerChange 11', async () => {
    const r = await checkFixture('too-many-files', fixturePolicy({ maxFilesPerChange: 11 }));
    assert.deepEqual(r.findings, []);
  });

  it('files of two services block, naming both', async () => {
    const r = await checkFixture('multi-service');
    assert.deepEqual(r.rules(), ['multi-service']);
    assert.match(r.findings[0].message, /notification-service.*search-service/);
  });
});

describe('malformed input is a block, never skipped', () => {
  it('broken YAML, broken HCL, a bad quantity and a non-numeric failureThreshold each name file and reason', async () => {
    const r = await checkFixture('malformed');
    assert.equal(r.decision, 'block');
    const byFile = r.findings.map((f) => [f.rule, f.file, f.line]);
    assert.deepEqual(byFile, [
      ['unparseable', 'k8s/staging/search-service/bad-quantity.yaml', 9],
      ['liveness-probe', 'k8s/staging/search-service/bad-quantity.yaml', 12],
      ['unparseable', 'k8s/staging/search-service/broken.yaml', 5],
      ['unparseable', 'k8s/staging/search-service/main.tf', 1],
      ['vacuous-probe', 'k8s/staging/search-service/bad-quantity.yaml', 8],
    ]);
    assert.match(r.findings[0].message, /"2 Gigs" is not a Kubernetes quantity/);
    assert.match(r.findings[1].message, /failureThreshold "one", which is not a positive integer/);
    assert.match(r.findings[2].message, /YAML: bad indentation of a mapping entry/);
    assert.match(r.findings[3].message, /HCL: .*Unclosed configuration block/);
  });
});
