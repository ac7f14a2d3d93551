// The checker the worker builds (createDeps): it forbids a file named like the worker's own policy
// anywhere in the change (issue 15, item 8), on top of the policy's globs, which cannot unlist it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parsePolicy } from '../../src/policy/config/load';
import { loadConfig } from '../../src/worker/config';
import { createDeps } from '../../src/worker/worker';
import type { Change } from '../../src/workflows/messages';
import { FIXTURE_POLICY } from './fixture-change';
import { gitChange } from './git-change';

const CONFIG = 'k8s/staging/notification-service/config.yaml';
const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notification-config }\ndata:\n  greeting: "${value}"\n`;

describe('the worker’s change checker', () => {
  let dir: string;
  let policyPath: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-worker-'));
    mkdirSync(join(dir, 'etc'));
    policyPath = join(dir, 'etc', 'gate.yaml');
    copyFileSync(FIXTURE_POLICY, policyPath);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (head: Record<string, string>) => {
    const repo = gitChange({ [CONFIG]: configMap('hello') }, head);
    try {
      const config = loadConfig({
        AIRLOCK_POLICY: policyPath,
        AIRLOCK_REPO_DIR: repo.dir,
        AIRLOCK_SIMULATION_STATE: join(dir, 'simulation.json'),
      });
      const deps = createDeps(config, {} as Client);
      const { policy } = parsePolicy(readFileSync(policyPath, 'utf8'));
      const change: Change = {
        service: 'notification-service',
        commit: repo.head,
        baseCommit: repo.base,
        author: 'airlock-agent[bot]',
        version: 'v2',
      };
      return await deps.checkChange(policy, change);
    } finally {
      repo.remove();
    }
  };

  it('a change that plants a copy of the worker’s policy (by its file name) blocks as forbidden-path', async () => {
    const planted = 'k8s/staging/notification-service/gate.yaml';
    const findings = await run({ [CONFIG]: configMap('hello'), [planted]: readFileSync(FIXTURE_POLICY, 'utf8') });
    const forbidden = findings.filter((f) => f.rule === 'forbidden-path');
    assert.deepEqual(
      forbidden.map((f) => [f.level, f.file]),
      [['block', planted]],
    );
    assert.match(forbidden[0].message, /\*\*\/gate\.yaml/);
  });

  it('an ordinary change through the same checker passes', async () => {
    const findings = await run({ [CONFIG]: configMap('hello, world') });
    assert.deepEqual(findings, []);
  });
});
