// `airlock backtest` on a git history the test writes: the first-parent walk (a merge judged against
// its first parent, its branch's commits never judged on their own), exact per-commit decisions and
// per-rule counts in both outputs, --since and --paths, and every bad input (exit 2, nothing printed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import { FIXTURE_POLICY, FIXTURES } from './fixture-change';
import { deployment, gitHistory, type GitHistory } from './git-history';

async function backtest(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['backtest', ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const GATEWAY = 'k8s/staging/api-gateway/deployment.yaml';
const SEARCH = 'k8s/staging/search-service/deployment.yaml';

describe('airlock backtest', () => {
  let h: GitHistory;
  const sha: Record<string, string> = {};
  beforeAll(() => {
    h = gitHistory();
    // Monday 2 March 2026; the fixture policy's load test covers api-gateway 14:00–16:00 UTC.
    h.commit(
      { [GATEWAY]: deployment('api-gateway', 3), [SEARCH]: deployment('search-service', 2), 'README.md': '# demo\n' },
      'initial',
      '2026-03-02T09:00:00Z',
    );
    sha.safe = h.commit({ [GATEWAY]: deployment('api-gateway', 5) }, 'scale api-gateway to 5', '2026-03-02T09:10:00Z');
    sha.docs = h.commit({ 'README.md': '# demo\n\nHow to deploy.\n' }, 'docs: how to deploy', '2026-03-02T09:20:00Z');
    sha.replicas = h.commit(
      { [GATEWAY]: deployment('api-gateway', 17) },
      'scale api-gateway to 17',
      '2026-03-02T09:30:00Z',
    );
    sha.forbidden = h.commit(
      { 'k8s/production/api-gateway/deployment.yaml': deployment('api-gateway', 3, 'production') },
      'add the production deployment',
      '2026-03-02T09:40:00Z',
    );
    // Judged at its committer date: inside the load-test window, so planned-operation blocks too.
    sha.window = h.commit(
      { [GATEWAY]: deployment('api-gateway', 18) },
      'scale api-gateway to 18 during the load test and a subject far longer than a line has room for',
      '2026-03-02T14:30:00Z',
    );
    h.git('checkout', '-q', '-b', 'feature');
    sha.branchBlocked = h.commit(
      { [SEARCH]: deployment('search-service', 40) },
      'search-service to 40',
      '2026-03-03T09:00:00Z',
    );
    sha.branchFix = h.commit(
      { [SEARCH]: deployment('search-service', 4), 'docs/search.md': 'search\n' },
      'search-service to 4, docs',
      '2026-03-03T09:10:00Z',
    );
    h.git('checkout', '-q', 'main');
    sha.merge = h.merge('feature', 'Merge branch feature', '2026-03-03T10:00:00Z');
  });
  afterAll(() => h.remove());

  it('--json: every first-parent commit against its first parent, exact findings and rule counts; exit 0', async () => {
    const r = await backtest('--repo', h.dir, '--policy', FIXTURE_POLICY, '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const report = JSON.parse(r.out);
    assert.deepEqual(Object.keys(report), [
      'version',
      'repo',
      'policy',
      'since',
      'paths',
      'commits',
      'rules',
      'totals',
    ]);
    assert.equal(report.version, 1);
    // The root (no base) and the branch's own commits are not judged; the merge is, against main.
    assert.deepEqual(
      report.commits.map((c: { sha: string }) => c.sha),
      [sha.safe, sha.docs, sha.replicas, sha.forbidden, sha.window, sha.merge],
    );
    const merge = report.commits[5];
    assert.deepEqual(
      [merge.parent, merge.date, merge.subject, merge.decision, merge.findings],
      [sha.window, '2026-03-03T10:00:00+00:00', 'Merge branch feature', 'allow', []],
    );
    assert.deepEqual(Object.keys(report.commits[0]), ['sha', 'parent', 'date', 'subject', 'decision', 'findings']);
    assert.deepEqual(
      report.commits.map((c: { decision: string; findings: { rule: string; level: string }[] }) => [
        c.decision,
        c.findings.map((f) => `${f.rule} ${f.level}`),
      ]),
      [
        ['allow', []],
        ['allow', []],
        ['block', ['replicas block']],
        ['block', ['forbidden-path block', 'sensitive-production warn', 'vacuous-probe warn']],
        ['block', ['replicas block', 'planned-operation block']],
        ['allow', []],
      ],
    );
    const replicas = report.commits[2].findings[0];
    assert.deepEqual(Object.keys(replicas), ['id', 'rule', 'level', 'waivable', 'file', 'line', 'message']);
    assert.deepEqual([replicas.file, replicas.line, replicas.waivable], [GATEWAY, 7, true]);
    assert.match(replicas.id, /^replicas-[0-9a-f]{10}$/);
    assert.deepEqual(report.rules, [
      { rule: 'replicas', blocked: 2, onlyBlocker: 1, warned: 0 },
      { rule: 'forbidden-path', blocked: 1, onlyBlocker: 1, warned: 0 },
      { rule: 'planned-operation', blocked: 1, onlyBlocker: 0, warned: 0 },
      { rule: 'sensitive-production', blocked: 0, onlyBlocker: 0, warned: 1 },
      { rule: 'vacuous-probe', blocked: 0, onlyBlocker: 0, warned: 1 },
    ]);
    const { medianMs, p95Ms, ...counts } = report.totals;
    assert.deepEqual(counts, { commits: 6, allowed: 3, blocked: 3 });
    assert.ok(medianMs > 0 && p95Ms >= medianMs, `median ${medianMs}, p95 ${p95Ms}`);
  });

  it('human output: a line per commit, the rule table and the totals', async () => {
    const r = await backtest('--repo', h.dir, '--policy', FIXTURE_POLICY);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const short = (k: string) => sha[k].slice(0, 7);
    assert.deepEqual(lines.slice(0, 6), [
      `${short('safe')}  2026-03-02  allow  -                           scale api-gateway to 5`,
      `${short('docs')}  2026-03-02  allow  -                           docs: how to deploy`,
      `${short('replicas')}  2026-03-02  BLOCK  replicas                    scale api-gateway to 17`,
      `${short('forbidden')}  2026-03-02  BLOCK  forbidden-path              add the production deployment`,
      `${short('window')}  2026-03-02  BLOCK  replicas,planned-operation  scale api-gateway to 18 during the load test and a subject…`,
      `${short('merge')}  2026-03-03  allow  -                           Merge branch feature`,
    ]);
    assert.deepEqual(lines.slice(6, 13), [
      '',
      'rule                  blocked  only blocker  warned',
      'replicas                    2             1       0',
      'forbidden-path              1             1       0',
      'planned-operation           1             0       0',
      'sensitive-production        0             0       1',
      'vacuous-probe               0             0       1',
    ]);
    assert.match(lines[14], /^6 commit\(s\) checked: 3 allowed, 3 blocked; per check median [\d.]+ ms, p95 [\d.]+ ms$/);
  });

  it('--since: only commits committed at or after the date', async () => {
    const shas = async (...args: string[]) => {
      const r = await backtest('--repo', h.dir, '--policy', FIXTURE_POLICY, '--json', ...args);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out).commits.map((c: { sha: string }) => c.sha);
    };
    assert.deepEqual(await shas('--since', '2026-03-02T09:35:00Z'), [sha.forbidden, sha.window, sha.merge]);
    // A bare date is midnight UTC, not today's time of day.
    assert.deepEqual(await shas('--since', '2026-03-03'), [sha.merge]);
    assert.deepEqual(await shas('--since', '2026-03-02T10:40:00+01:00'), [sha.forbidden, sha.window, sha.merge]);
  });

  it('--paths: only commits that change a matching path; the merge counts its whole first-parent diff', async () => {
    const run = async (...globs: string[]) => {
      const r = await backtest('--repo', h.dir, '--policy', FIXTURE_POLICY, '--json', '--paths', ...globs);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out);
    };
    const docs = await run('README.md', 'docs/**');
    assert.deepEqual(
      docs.commits.map((c: { sha: string }) => c.sha),
      [sha.docs, sha.merge],
    );
    assert.deepEqual(docs.paths, ['README.md', 'docs/**']);
    assert.deepEqual(docs.rules, []);
    const production = await run('k8s/production/**');
    assert.deepEqual(
      production.commits.map((c: { sha: string }) => c.sha),
      [sha.forbidden],
    );
    assert.deepEqual(production.totals.blocked, 1);
  });

  it('a commit subject is untrusted text: terminal escapes are not printed', async () => {
    const other = gitHistory();
    try {
      other.commit({ 'README.md': 'x\n' }, 'root', '2026-03-01T00:00:00Z');
      other.commit(
        { 'README.md': 'y\n' },
        'docs \u001b[2J\u001b]8;;https://evil.example\u0007click',
        '2026-03-01T01:00:00Z',
      );
      const r = await backtest('--repo', other.dir, '--policy', FIXTURE_POLICY);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /allow {2}- {2}docs .*click/);
      assert.ok(!r.out.includes('\u001b') && !r.out.includes('\u0007'), r.out);
    } finally {
      other.remove();
    }
  });

  describe('bad input: exit 2, the option and the reason named, nothing on stdout', () => {
    const refused = async (args: string[], message: RegExp) => {
      const r = await backtest(...args);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.out, '');
      assert.match(r.err, message);
    };
    let plain: string;
    let rootOnly: GitHistory;
    let empty: GitHistory;
    beforeAll(() => {
      plain = mkdtempSync(join(tmpdir(), 'airlock-not-git-'));
      rootOnly = gitHistory();
      rootOnly.commit({ 'README.md': 'x\n' }, 'root', '2026-03-01T00:00:00Z');
      empty = gitHistory();
    });
    afterAll(() => {
      rmSync(plain, { recursive: true, force: true });
      rootOnly.remove();
      empty.remove();
    });

    it('--repo that is not a git repository, or has no commit after its root', async () => {
      await refused(['--repo', plain, '--policy', FIXTURE_POLICY], /backtest: --repo .*: not a git repository/);
      await refused(
        ['--repo', '/nonexistent/repo', '--policy', FIXTURE_POLICY],
        /backtest: --repo \/nonexistent\/repo: not a git repository/,
      );
      await refused(['--repo', empty.dir, '--policy', FIXTURE_POLICY], /backtest: --repo .*: no commits in range/);
      await refused(['--repo', rootOnly.dir, '--policy', FIXTURE_POLICY], /backtest: --repo .*: no commits in range/);
      await refused(['--policy', FIXTURE_POLICY], /required option '--repo <dir>' not specified/);
    });

    it('--since that is not an ISO date, or leaves no commits', async () => {
      for (const since of ['yesterday', '2026-02-30', '2026-03-02T25:00:00Z', '03/02/2026'])
        await refused(
          ['--repo', h.dir, '--policy', FIXTURE_POLICY, '--since', since],
          new RegExp(`backtest: --since "${since}" is not an ISO date`),
        );
      await refused(
        ['--repo', h.dir, '--policy', FIXTURE_POLICY, '--since', '2027-01-01'],
        /backtest: --since 2027-01-01: no commits in range/,
      );
    });

    it('--policy that does not load', async () => {
      await refused(
        ['--repo', h.dir, '--policy', '/nonexistent/policy.yaml'],
        /backtest: policy \/nonexistent\/policy.yaml: cannot read \(ENOENT\)/,
      );
      await refused(
        ['--repo', h.dir, '--policy', join(FIXTURES, 'malformed/head/k8s/staging/search-service/broken.yaml')],
        /backtest: policy .*broken.yaml: YAML/,
      );
    });

    it('--paths that no commit in range touches, or an empty glob', async () => {
      await refused(
        ['--repo', h.dir, '--policy', FIXTURE_POLICY, '--paths', 'terraform/**'],
        /backtest: --paths terraform\/\*\*: no commits in range change a matching path/,
      );
      await refused(['--repo', h.dir, '--policy', FIXTURE_POLICY, '--paths', ' '], /backtest: --paths: a glob/);
    });
  });
});
