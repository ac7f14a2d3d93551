// The worker refuses to start when its policy lies inside the clone it checks changes from (issue 15,
// item 8): a merged change could rewrite the rules that judge it. Compared by real path.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/worker/config';

describe('AIRLOCK_POLICY inside AIRLOCK_REPO_DIR', () => {
  let dir: string;
  let repo: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-config-'));
    repo = join(dir, 'infra');
    mkdirSync(join(repo, 'policy'), { recursive: true });
    mkdirSync(join(dir, 'etc'));
    mkdirSync(join(dir, 'infra-policy'));
    writeFileSync(join(repo, 'policy', 'airlock.policy.yaml'), 'version: 1\n');
    symlinkSync(repo, join(dir, 'clone-link'));
    symlinkSync(join(repo, 'policy'), join(dir, 'etc', 'linked-policy'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load =
    (policy: string, clone = repo) =>
    () =>
      loadConfig({ AIRLOCK_POLICY: policy, AIRLOCK_REPO_DIR: clone });
  const refusal =
    /^config: AIRLOCK_POLICY: .* lies inside the clone AIRLOCK_REPO_DIR \(.*\): a merged change could rewrite the rules that judge it/;

  it('refuses a policy file inside the clone, naming both settings', () => {
    expect(load(join(repo, 'policy', 'airlock.policy.yaml'))).toThrow(refusal);
  });

  it('refuses it through `..`, through a symlinked clone and through a symlinked policy directory', () => {
    expect(load(join(dir, 'etc', '..', 'infra', 'policy', 'airlock.policy.yaml'))).toThrow(refusal);
    expect(load(join(repo, 'policy', 'airlock.policy.yaml'), join(dir, 'clone-link'))).toThrow(refusal);
    expect(load(join(dir, 'etc', 'linked-policy', 'airlock.policy.yaml'))).toThrow(refusal);
    // A file that does not exist yet is judged by its real parent directory.
    expect(load(join(dir, 'clone-link', 'new', 'gate.yaml'))).toThrow(refusal);
  });

  it('accepts a policy outside the clone, even beside it under a longer name', () => {
    expect(load(join(dir, 'etc', 'airlock.policy.yaml'))().policyPath).toBe(join(dir, 'etc', 'airlock.policy.yaml'));
    expect(load(join(dir, 'infra-policy', 'airlock.policy.yaml'))().repoDir).toBe(repo);
    // No clone: nothing to compare with (the gate then blocks changes as unchecked-change).
    expect(loadConfig({ AIRLOCK_POLICY: join(repo, 'policy', 'airlock.policy.yaml') }).repoDir).toBeUndefined();
  });
});
