// The worker's change checker reads the trees from a git clone; it never allows silently.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createChangeChecker, deployWindow } from '../../src/worker/policy-wiring';
import type { Change } from '../../src/workflows/messages';
import { fixturePolicy } from './fixture-change';
import { fixtureRepo, type FixtureRepo } from './fixture-repo';

const change = (o: Partial<Change>): Change => ({
  service: 'notification-service',
  commit: 'f'.repeat(40),
  author: 'airlock-agent[bot]',
  version: 'v1',
  ...o,
});

describe('createChangeChecker', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = fixtureRepo('incident-009-liveness-probe');
  });
  afterAll(() => repo.remove());

  it('reads base and head commits from the clone and blocks the incident', async () => {
    const findings = await createChangeChecker(repo.dir)(
      fixturePolicy(),
      change({ commit: repo.head, baseCommit: repo.base }),
    );
    assert.deepEqual(
      findings.map((f) => [f.rule, f.level, f.file, f.line]),
      [
        ['liveness-probe', 'block', 'k8s/staging/notification-service/deployment.yaml', 24],
        ['vacuous-probe', 'warn', 'k8s/staging/notification-service/deployment.yaml', 15],
      ],
    );
  });

  it('files of another service than the one promoted block as service-mismatch', async () => {
    const findings = await createChangeChecker(repo.dir)(
      fixturePolicy(),
      change({ service: 'search-service', commit: repo.head, baseCommit: repo.base }),
    );
    assert.deepEqual(findings.map((f) => f.rule).sort(), ['liveness-probe', 'service-mismatch', 'vacuous-probe']);
    assert.match(
      findings.find((f) => f.rule === 'service-mismatch')!.message,
      /deploys search-service but the change touches notification-service/,
    );
  });

  it('the same commit as base and head has nothing to say', async () => {
    const findings = await createChangeChecker(repo.dir)(
      fixturePolicy(),
      change({ commit: repo.head, baseCommit: repo.head }),
    );
    assert.deepEqual(findings, []);
  });

  // Fail closed (issue 15, item 3): nothing that could not be read is promoted by default.
  it('without a clone or a base commit it blocks as unchecked-change, naming what is missing', async () => {
    const noClone = await createChangeChecker(undefined)(fixturePolicy(), change({ baseCommit: repo.base }));
    assert.deepEqual(
      noClone.map((f) => [f.rule, f.level]),
      [['unchecked-change', 'block']],
    );
    assert.match(
      noClone[0].message,
      /^no clone configured \(AIRLOCK_REPO_DIR\) — the change's content cannot be checked/,
    );
    assert.match(noClone[0].message, /checks\.allowUncheckedChanges: true/);
    const noBase = await createChangeChecker(repo.dir)(fixturePolicy(), change({ commit: repo.head }));
    assert.deepEqual(
      noBase.map((f) => [f.rule, f.level]),
      [['unchecked-change', 'block']],
    );
    assert.match(noBase[0].message, /carries no baseCommit/);
  });

  it('a policy that opts out (checks.allowUncheckedChanges) lets it through with a loud warning', async () => {
    const policy = fixturePolicy({ allowUncheckedChanges: true });
    for (const findings of [
      await createChangeChecker(undefined)(policy, change({ baseCommit: repo.base })),
      await createChangeChecker(repo.dir)(policy, change({ commit: repo.head })),
    ]) {
      assert.deepEqual(
        findings.map((f) => [f.rule, f.level]),
        [['unchecked-change', 'warn']],
      );
      assert.match(findings[0].message, /^UNCHECKED CHANGE: .*checks\.allowUncheckedChanges: true/);
    }
    // With a clone and a base commit the opt-out changes nothing: the content is checked as always.
    const checked = await createChangeChecker(repo.dir)(policy, change({ commit: repo.head, baseCommit: repo.base }));
    assert.deepEqual(checked.map((f) => f.rule).sort(), ['liveness-probe', 'vacuous-probe']);
  });

  it('a commit missing from the clone blocks, naming it', async () => {
    const findings = await createChangeChecker(repo.dir)(
      fixturePolicy(),
      change({ commit: 'a'.repeat(40), baseCommit: repo.base }),
    );
    assert.deepEqual(
      findings.map((f) => [f.rule, f.level]),
      [['unreadable-change', 'block']],
    );
    assert.match(findings[0].message, /cannot read change aaaaaaaaaaaa/);
    assert.match(findings[0].message, /also after fetching the clone from its remote/);
  });
});

describe('a clone older than the merge', () => {
  it('is fetched once from its own remote, then the change is checked as usual', async () => {
    const origin = fixtureRepo('incident-009-liveness-probe');
    const mirror = mkdtempSync(join(tmpdir(), 'airlock-mirror-'));
    try {
      // The clone as the compose stack makes it, before the merge: only the base commit.
      execFileSync('git', ['clone', '-q', '--mirror', origin.dir, mirror]);
      execFileSync('git', ['-C', origin.dir, 'update-ref', 'refs/heads/later', origin.head]);
      execFileSync('git', ['-C', mirror, 'update-ref', '-d', 'HEAD']);
      execFileSync('git', ['-C', mirror, 'gc', '-q', '--prune=now']);
      assert.throws(() => execFileSync('git', ['-C', mirror, 'cat-file', '-e', origin.head], { stdio: 'ignore' }));
      const findings = await createChangeChecker(mirror)(
        fixturePolicy(),
        change({ commit: origin.head, baseCommit: origin.base }),
      );
      assert.deepEqual(findings.map((f) => f.rule).sort(), ['liveness-probe', 'vacuous-probe']);
    } finally {
      origin.remove();
      rmSync(mirror, { recursive: true, force: true });
    }
  });
});

describe('deployWindow', () => {
  it('reports the freeze wait from the policy’s planned operations', () => {
    const policy = fixturePolicy({
      plannedOperations: [
        {
          name: 'quarter close',
          schedule: '0 0 1 * *',
          durationMinutes: 24 * 60,
          timezone: 'UTC',
          services: ['payment-service'],
          action: 'freeze',
          environments: ['production'],
        },
      ],
    });
    const w = deployWindow(policy, 'payment-service', 'production', new Date('2026-04-01T18:00:00Z'));
    assert.equal(w.waitMs, 6 * 3_600_000);
    assert.match(w.reason!, /quarter close/);
    assert.equal(deployWindow(policy, 'payment-service', 'production', new Date('2026-04-02T00:00:00Z')).waitMs, 0);
  });
});
