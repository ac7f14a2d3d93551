// The engine's limits (issue 15, item 8): symlinks and submodules block, files and changes over the
// size limits block without being read, and an alias bomb is refused as unparseable, not expanded.
// Each attack next to the legitimate change it must not disturb.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'vitest';
import type { ChangeTrees, FileTree } from '../../src/policy/engine/change-files';
import { checkChange } from '../../src/policy/engine/check-change';
import { decide } from '../../src/policy/engine/finding';
import { MAX_ALIAS_COUNT } from '../../src/policy/engine/manifest';
import { directoryTree } from '../../src/policy/engine/trees/directory-tree';
import { gitTree } from '../../src/policy/engine/trees/git-tree';
import { aliasBomb } from '../../bench/alias-bomb';
import { fixturePolicy, OUTSIDE_WINDOWS } from './fixture-change';
import { gitChange, type Files, type GitChange } from './git-change';

const CONFIG = 'k8s/staging/notification-service/config.yaml';
const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notification-config }\ndata:\n  greeting: "${value}"\n`;
const BASE: Files = { [CONFIG]: configMap('hello') };

let repos: GitChange[] = [];
afterEach(() => {
  for (const r of repos) r.remove();
  repos = [];
});

/** The change checked from a git clone, with every path the engine read recorded. */
async function check(head: Files, checks: Record<string, unknown> = {}, base: Files = BASE) {
  const repo = gitChange(base, head);
  repos.push(repo);
  const read: string[] = [];
  const recording = (tree: FileTree): FileTree => ({
    ...tree,
    read: (paths) => {
      read.push(...paths);
      return tree.read(paths);
    },
  });
  const trees: ChangeTrees = {
    base: recording(await gitTree(repo.dir, repo.base)),
    head: recording(await gitTree(repo.dir, repo.head)),
  };
  const findings = await checkChange(fixturePolicy(checks), trees, { now: OUTSIDE_WINDOWS });
  return { findings, read, decision: decide(findings), rules: findings.map((f) => `${f.rule} ${f.level}`) };
}

describe('symlinks and submodules', () => {
  it('a legitimate change still passes (the control)', async () => {
    const r = await check({ [CONFIG]: configMap('hello, world') });
    assert.deepEqual(r.rules, []);
    assert.equal(r.decision, 'allow');
  });

  it('a symlink to a forbidden path blocks as symlink, naming it', async () => {
    const link = 'k8s/staging/notification-service/prod-secrets.yaml';
    const r = await check({ ...BASE, [link]: { symlink: '../../production/secrets/db.yaml' } });
    assert.deepEqual(r.rules, ['symlink block']);
    assert.equal(r.findings[0].file, link);
    assert.match(r.findings[0].message, /is a symbolic link: no rule reads through a link/);
  });

  it('a file turned into a symlink blocks too', async () => {
    const r = await check({ [CONFIG]: { symlink: '/etc/passwd' } });
    assert.ok(r.rules.includes('symlink block'), r.rules.join(', '));
    assert.equal(r.decision, 'block');
  });

  it('a symlink the change does not touch blocks nothing', async () => {
    const link = { 'docs/latest': { symlink: 'v2' } };
    const r = await check({ ...link, [CONFIG]: configMap('hello, world') }, {}, { ...BASE, ...link });
    assert.deepEqual(r.rules, []);
  });

  it('a submodule (gitlink) blocks as submodule, naming its commit', async () => {
    const r = await check({ ...BASE, 'k8s/staging/notification-service/vendor': { submodule: 'c'.repeat(40) } });
    assert.deepEqual(r.rules, ['submodule block']);
    assert.match(r.findings[0].message, /is a submodule \(commit cccccccccccc of another repository\)/);
  });

  it('directory trees (airlock check --base/--head) see symlinks and nested repositories too', async () => {
    const root = mkdtempSync(join(tmpdir(), 'airlock-dirs-'));
    try {
      for (const side of ['base', 'head']) mkdirSync(join(root, side, 'k8s'), { recursive: true });
      writeFileSync(join(root, 'base/k8s/a.yaml'), configMap('a'));
      writeFileSync(join(root, 'head/k8s/a.yaml'), configMap('a'));
      symlinkSync('../../base/k8s/a.yaml', join(root, 'head/k8s/link.yaml'));
      mkdirSync(join(root, 'head/k8s/vendor/.git'), { recursive: true });
      const findings = await checkChange(
        fixturePolicy(),
        { base: directoryTree(join(root, 'base')), head: directoryTree(join(root, 'head')) },
        { now: OUTSIDE_WINDOWS },
      );
      assert.deepEqual(
        findings.map((f) => [f.rule, f.file]),
        [
          ['symlink', 'k8s/link.yaml'],
          ['submodule', 'k8s/vendor'],
        ],
      );
      assert.match(findings[1].message, /^k8s\/vendor is a submodule \(another repository\)/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('size limits', () => {
  const big = (bytes: number) => `# ${'x'.repeat(bytes - 3)}\n`;

  it('a file over checks.maxFileBytes blocks and is never read', async () => {
    const huge = 'k8s/staging/notification-service/huge.yaml';
    const r = await check({ ...BASE, [huge]: big(4096) }, { maxFileBytes: 2048 });
    assert.deepEqual(r.rules, ['file-too-large block']);
    assert.match(r.findings[0].message, /huge\.yaml is 0\.004 MiB, more than checks\.maxFileBytes \(0\.002 MiB\)/);
    assert.ok(!r.read.includes(huge), `read: ${r.read.join(', ')}`);
  });

  it('a file within the limit is read and judged as before', async () => {
    const r = await check({ [CONFIG]: configMap('hello, world') }, { maxFileBytes: 2048 });
    assert.deepEqual(r.rules, []);
    assert.ok(r.read.includes(CONFIG));
  });

  it('an unchanged kustomization over the limit is not read either, and the approvers are told', async () => {
    const kustomization = 'k8s/staging/notification-service/kustomization.yaml';
    const padded = `resources: [config.yaml]\n${big(4096)}`;
    const r = await check(
      { ...BASE, [kustomization]: padded, [CONFIG]: configMap('hi') },
      { maxFileBytes: 2048 },
      {
        ...BASE,
        [kustomization]: padded,
      },
    );
    assert.deepEqual(r.rules, ['unread-graph-file warn']);
    assert.ok(!r.read.includes(kustomization));
  });

  it('a change over checks.maxChangeBytes blocks and none of it is read', async () => {
    const files: Files = {};
    for (const n of [1, 2, 3]) files[`k8s/staging/notification-service/part-${n}.yaml`] = big(1500);
    const r = await check(files, { maxChangeBytes: 4000 });
    assert.deepEqual(r.rules, ['change-too-large block']);
    assert.match(r.findings[0].message, /more than checks\.maxChangeBytes/);
    assert.deepEqual(r.read, []);
  });

  it('the same change under the limit passes', async () => {
    const files: Files = {};
    for (const n of [1, 2, 3]) files[`k8s/staging/notification-service/part-${n}.yaml`] = big(1500);
    const r = await check(files, { maxChangeBytes: 5000 });
    assert.equal(r.decision, 'allow', r.rules.join(', '));
  });
});

describe('YAML aliases', () => {
  it('a depth-30 alias bomb is refused as unparseable (too many aliases), not expanded', async () => {
    const bomb = aliasBomb(30);
    assert.ok(bomb.length < 2048, `${bomb.length} bytes`);
    const r = await check({ [CONFIG]: bomb });
    const unparseable = r.findings.filter((f) => f.rule === 'unparseable');
    assert.equal(unparseable.length, 1, r.rules.join(', '));
    assert.equal(unparseable[0].level, 'block');
    assert.match(unparseable[0].message, new RegExp(`too many aliases \\(more than ${MAX_ALIAS_COUNT} expanded`));
  });

  it('the same bomb in the old version only (a change that removes it) is no obstacle', async () => {
    const r = await check({ [CONFIG]: configMap('hello') }, {}, { [CONFIG]: aliasBomb(30) });
    assert.ok(!r.rules.includes('unparseable block'), r.rules.join(', '));
  });

  it('a manifest with a few ordinary anchors and aliases passes', async () => {
    const manifest = `apiVersion: v1
kind: ConfigMap
metadata: { name: notification-config, labels: &labels { app: notification, team: comms } }
data:
  shared: &shared "one value"
  again: *shared
  labels: *labels
`;
    const r = await check({ [CONFIG]: manifest });
    assert.deepEqual(r.rules, []);
  });
});
