// `airlock check`: exit codes, the JSON contract, human output grouped by file, git refs.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runCheckCli } from '../../src/cli/check';
import { runCli } from '../../src/cli/main';
import { FIXTURE_POLICY, FIXTURES } from './fixture-change';
import { fixtureRepo, type FixtureRepo } from './fixture-repo';

async function run(args: string[], cli: typeof runCheckCli = runCheckCli) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cli(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const dirs = (name: string) => ['--base', resolve(FIXTURES, name, 'base'), '--head', resolve(FIXTURES, name, 'head')];
const NOW = ['--now', '2026-03-02T10:00:00Z'];

describe('airlock check', () => {
  it('exit 1 and the JSON contract for a blocked change', async () => {
    const r = await run(['--policy', FIXTURE_POLICY, ...dirs('incident-001-replicas'), ...NOW, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out);
    assert.deepEqual(Object.keys(report), ['decision', 'findings']);
    assert.equal(report.decision, 'block');
    assert.deepEqual(Object.keys(report.findings[0]), ['id', 'rule', 'level', 'waivable', 'file', 'line', 'message']);
    assert.deepEqual(
      [report.findings[0].rule, report.findings[0].file, report.findings[0].line, report.findings[0].waivable],
      ['replicas', 'k8s/staging/api-gateway/deployment.yaml', 7, true],
    );
    assert.match(report.findings[0].id, /^replicas-[0-9a-f]{10}$/);
    // The id is the content's: the same change checked again names the same findings.
    const again = JSON.parse(
      (await run(['--policy', FIXTURE_POLICY, ...dirs('incident-001-replicas'), ...NOW, '--json'])).out,
    );
    assert.deepEqual(
      again.findings.map((f: { id: string }) => f.id),
      report.findings.map((f: { id: string }) => f.id),
    );
  });

  it('exit 0 for a safe change; human output says allow', async () => {
    const r = await run(['--policy', FIXTURE_POLICY, ...dirs('incident-001-safe-twin'), ...NOW]);
    assert.equal(r.code, 0);
    assert.match(r.out, /decision: allow/);
  });

  it('human output groups findings under their file, change-wide ones first', async () => {
    const r = await run(['--policy', FIXTURE_POLICY, ...dirs('incident-012-shared-module'), ...NOW]);
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'terraform/modules/shared/database.tf');
    assert.match(lines[1], /^ {2}BLOCK \[reach\]/);
    assert.match(lines[2], /^ {2}warn {2}\[sensitive-production\]/);
    assert.match(r.out, /decision: BLOCK — 1 blocking finding\(s\), 2 warning\(s\)/);
  });

  it('exit 2 for bad invocations and unreadable input, naming the file', async () => {
    const missingHead = await run(['--policy', FIXTURE_POLICY, '--base', FIXTURES]);
    assert.equal(missingHead.code, 2);
    assert.match(missingHead.err, /give either --base DIR --head DIR, or --repo DIR/);
    const noPolicy = await run(['--policy', '/nonexistent/policy.yaml', ...dirs('incident-001-safe-twin')]);
    assert.equal(noPolicy.code, 2);
    assert.match(noPolicy.err, /\/nonexistent\/policy.yaml: cannot read \(ENOENT\)/);
    const badPolicy = await run([
      '--policy',
      resolve(FIXTURES, 'malformed/head/k8s/staging/search-service/broken.yaml'),
      ...dirs('incident-001-safe-twin'),
    ]);
    assert.equal(badPolicy.code, 2);
    assert.match(badPolicy.err, /broken.yaml: YAML/);
    const noDir = await run(['--policy', FIXTURE_POLICY, '--base', '/nonexistent/base', '--head', FIXTURES]);
    assert.equal(noDir.code, 2);
    assert.match(noDir.err, /\/nonexistent\/base: cannot read directory: ENOENT/);
    const unknown = await run(['--policy', FIXTURE_POLICY, '--bogus']);
    assert.equal(unknown.code, 2);
  });

  describe('with git refs', () => {
    let repo: FixtureRepo;
    beforeAll(() => {
      repo = fixtureRepo('incident-006-memory');
    });
    afterAll(() => repo.remove());

    it('reads --base-ref and --head-ref from --repo', async () => {
      const r = await run([
        '--policy',
        FIXTURE_POLICY,
        '--repo',
        repo.dir,
        '--base-ref',
        repo.base,
        '--head-ref',
        'HEAD',
        '--json',
        ...NOW,
      ]);
      assert.equal(r.code, 1);
      assert.deepEqual([...new Set(JSON.parse(r.out).findings.map((f: { rule: string }) => f.rule))].sort(), [
        'memory-capacity',
        'memory-increase',
        'vacuous-probe',
      ]);
    });

    it('an unknown ref is exit 2 naming the repository', async () => {
      const r = await run([
        '--policy',
        FIXTURE_POLICY,
        '--repo',
        repo.dir,
        '--base-ref',
        'no-such-ref',
        '--head-ref',
        'HEAD',
      ]);
      assert.equal(r.code, 2);
      assert.match(r.err, new RegExp(`${repo.dir}: git rev-parse failed`));
    });
  });

  it('is registered on the main airlock CLI with the same exit codes', async () => {
    const blocked = await run(['check', '--policy', FIXTURE_POLICY, ...dirs('incident-009-liveness-probe')], runCli);
    assert.equal(blocked.code, 1);
    assert.match(blocked.err, /check: the change is blocked/);
    const allowed = await run(['check', '--policy', FIXTURE_POLICY, ...dirs('incident-009-safe-twin')], runCli);
    assert.equal(allowed.code, 0);
    const invalid = await run(['check', '--policy', FIXTURE_POLICY, '--base', FIXTURES], runCli);
    assert.equal(invalid.code, 2);
  });
});
