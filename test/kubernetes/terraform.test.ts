// Terraform roots planned and applied by the real, pinned OpenTofu (scripts/install-opentofu.sh) on a
// throwaway repository shaped like AI-DEPLOY-012: real state, real plans, real locks. No cluster.
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffTrees } from '../../src/policy/engine/change-files';
import { gitTree } from '../../src/policy/engine/trees/git-tree';
import { rootsReachedByChange } from '../../src/integrations/terraform/roots-reached';
import { createTerraformRunner } from '../../src/integrations/terraform/terraform-runner';
import { destructiveChanges } from '../../src/integrations/terraform/terraform-plan';
import {
  TerraformConfigError,
  TerraformLockError,
  TerraformPlanChangedError,
} from '../../src/integrations/terraform/terraform-errors';
import { resolveTofuBinary } from '../../src/integrations/terraform/tofu-binary';
import { tofuEnv } from '../../src/integrations/terraform/run-tofu';
import { createTerraformRepo, type TerraformRepo } from './terraform-repo';
import { backgroundBuildDone } from '../helpers/background-build';

// setup.sh builds OpenTofu in the background: its path is resolved once that is done.
let tofu: string;
let runner: ReturnType<typeof createTerraformRunner>;
beforeAll(async () => {
  await backgroundBuildDone();
  tofu = resolveTofuBinary();
  runner = createTerraformRunner({ tofu, lockTimeoutSeconds: 1 });
}, 45 * 60_000);
const DATABASE = 'terraform/modules/shared/database.tf';

let repo: TerraformRepo;
let work: string;
let cloneBefore: { status: string; head: string; index: Buffer };
const realTmp = process.env.TMPDIR;

const cloneState = () => ({
  status: repo.git('status', '--porcelain', '--untracked-files=all'),
  head: repo.git('rev-parse', 'HEAD'),
  index: readFileSync(join(repo.dir, '.git/index')),
});

beforeAll(() => {
  repo = createTerraformRepo();
  // An uncommitted edit in the clone: the runner must neither see it nor disturb it.
  execFileSync('sh', ['-c', `echo '# local edit' >> ${join(repo.dir, 'README.md')}`]);
  cloneBefore = cloneState();
  work = mkdtempSync(join(tmpdir(), 'airlock-tf-test-'));
  // The runner's scratch directories land here, so the tests can see that none is left behind.
  process.env.TMPDIR = join(work, 'tmp');
  execFileSync('mkdir', ['-p', process.env.TMPDIR]);
});
afterAll(() => {
  if (realTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = realTmp;
  repo?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

let stateCounter = 0;
let stateDir: string;
beforeEach(() => {
  stateDir = join(work, `state-${++stateCounter}`);
});

/** address → `input` of every terraform_data instance in a local state file. */
function inputsIn(statePath: string): Record<string, unknown> {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
    resources: { module?: string; type: string; name: string; instances: { attributes: { input: unknown } }[] }[];
  };
  const out: Record<string, unknown> = {};
  for (const r of state.resources) {
    const address = `${r.module ? `${r.module}.` : ''}${r.type}.${r.name}`;
    // terraform_data's input is dynamically typed: state keeps it as { value, type }.
    const input = r.instances[0]?.attributes.input as { value?: unknown } | null;
    out[address] = input && typeof input === 'object' && 'value' in input ? input.value : input;
  }
  return out;
}
const stateFile = (dir = stateDir) => join(dir, 'terraform.tfstate');
const production = () => ({ repoDir: repo.dir, dir: 'terraform/production', stateDir });
const scratchLeft = () => readdirSync(process.env.TMPDIR!).filter((n) => n.startsWith('airlock-tofu-'));

test('the pinned OpenTofu is the one the worker runs', () => {
  const version = JSON.parse(execFileSync(tofu, ['version', '-json'], { env: tofuEnv() }).toString()) as {
    terraform_version: string;
  };
  assert.equal(version.terraform_version, '1.12.6');
});

describe('reach: which roots a change plans', () => {
  test('a shared-module edit reaches both environments; an unrelated root reaches none', async () => {
    const trees = {
      base: await gitTree(repo.dir, repo.commits.base),
      head: await gitTree(repo.dir, repo.commits.head),
    };
    const changed = (await diffTrees(trees)).map((f) => f.path);
    assert.deepEqual(changed, [DATABASE]);
    const sources = {
      staging: { dir: 'terraform/staging' },
      production: { dir: 'terraform/production/', varFiles: ['terraform/production/production.tfvars'] },
      network: { dir: 'terraform/network' },
    };
    const reached = await rootsReachedByChange(trees, changed, sources);
    assert.deepEqual(
      reached.map((r) => [r.environment, r.reachedBy]),
      [
        ['staging', [{ path: DATABASE, via: ['terraform/modules/shared'] }]],
        ['production', [{ path: DATABASE, via: ['terraform/modules/shared'] }]],
      ],
    );
    const varFileOnly = await rootsReachedByChange(trees, ['terraform/production/production.tfvars'], sources);
    assert.deepEqual(
      varFileOnly.map((r) => r.environment),
      ['production'],
    );
    const rootOnly = await rootsReachedByChange(trees, ['terraform/network/main.tf', 'README.md'], sources);
    assert.deepEqual(
      rootOnly.map((r) => r.environment),
      ['network'],
    );
  });
});

describe('plan, apply and roll back a root', () => {
  test('base applied, head planned and applied, rollback to base restores the base state', async () => {
    const first = await runner.applyRoot({ ...production(), commit: repo.commits.base });
    assert.deepEqual(first.summary, { add: 3, change: 0, destroy: 0, replace: 0, forget: 0 });
    const baseInputs = inputsIn(stateFile());
    assert.deepEqual(baseInputs['module.database.terraform_data.users_table'], {
      name: 'users',
      instance_class: 'db.small',
      environment: 'production',
    });

    const plan = await runner.planRoot({ ...production(), commit: repo.commits.head });
    assert.deepEqual(plan.summary, { add: 1, change: 1, destroy: 0, replace: 0, forget: 0 });
    assert.deepEqual(plan.resourceChanges, [
      { address: 'module.database.terraform_data.index_users_last_login', actions: ['create'] },
      { address: 'module.database.terraform_data.users_table', actions: ['update'] },
    ]);
    assert.match(plan.text, /module\.database\.terraform_data\.index_users_last_login will be created/);
    assert.match(plan.text, /slow query AI-DEPLOY-012/);
    assert.match(plan.digest, /^sha256:[0-9a-f]{64}$/);
    // Planning wrote nothing: the state is still the base apply's.
    assert.deepEqual(inputsIn(stateFile()), baseInputs);
    const again = await runner.planRoot({ ...production(), commit: repo.commits.head });
    assert.equal(again.digest, plan.digest, 'the same change plans to the same digest');

    const applied = await runner.applyRoot({ ...production(), commit: repo.commits.head, expectedDigest: plan.digest });
    assert.deepEqual(applied.summary, plan.summary);
    const headInputs = inputsIn(stateFile());
    assert.deepEqual(headInputs['module.database.terraform_data.index_users_last_login'], {
      table: 'users',
      columns: ['last_login_at'],
      environment: 'production',
    });
    assert.equal(
      (headInputs['module.database.terraform_data.users_table'] as { comment: string }).comment,
      'slow query AI-DEPLOY-012',
    );
    const settled = await runner.planRoot({ ...production(), commit: repo.commits.head });
    assert.deepEqual(settled.resourceChanges, [], 'after the apply, head has nothing left to do');
    assert.notEqual(settled.digest, plan.digest);

    const rollback = await runner.applyRoot({ ...production(), commit: repo.commits.base });
    assert.deepEqual(rollback.summary, { add: 0, change: 1, destroy: 1, replace: 0, forget: 0 });
    assert.deepEqual(inputsIn(stateFile()), baseInputs);
    assert.deepEqual(scratchLeft(), [], 'every scratch checkout removed');
  });

  test('var files and a workspace: state per workspace, values from the var file at that commit', async () => {
    const req = {
      ...production(),
      commit: repo.commits.base,
      workspace: 'blue',
      varFiles: ['terraform/production/production.tfvars'],
    };
    await runner.applyRoot(req);
    assert.equal(existsSync(stateFile()), false, 'the default workspace has no state');
    const inputs = inputsIn(join(stateDir, 'workspaces/blue/terraform.tfstate'));
    assert.equal(
      (inputs['module.database.terraform_data.users_table'] as { instance_class: string }).instance_class,
      'db.large',
    );
    assert.deepEqual((await runner.planRoot(req)).resourceChanges, []);
  });

  test('a replacement and a removal are reported as replace and destroy; an unapproved plan is refused', async () => {
    await runner.applyRoot({ ...production(), commit: repo.commits.head });
    const before = readFileSync(stateFile());
    const plan = await runner.planRoot({ ...production(), commit: repo.commits.destructive });
    assert.deepEqual(plan.summary, { add: 0, change: 0, destroy: 1, replace: 1, forget: 0 });
    assert.deepEqual(destructiveChanges(plan), [
      {
        address: 'module.database.terraform_data.index_orders_created',
        actions: ['delete', 'create'],
        // terraform_data asks for the replacement when triggers_replace changes.
        reason: 'replace_because_cannot_update',
        kind: 'replace',
      },
      {
        address: 'module.database.terraform_data.index_users_email',
        actions: ['delete'],
        reason: 'delete_because_no_resource_config',
        kind: 'destroy',
      },
    ]);
    // Approvers saw the head plan; the destructive one must not be applied on that approval.
    const headPlanDigest = (await runner.planRoot({ ...production(), commit: repo.commits.head })).digest;
    const refused = runner.applyRoot({
      ...production(),
      commit: repo.commits.destructive,
      expectedDigest: headPlanDigest,
    });
    await assert.rejects(refused, (err: unknown) => {
      assert.ok(err instanceof TerraformPlanChangedError);
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /differs from the approved one/);
      return true;
    });
    assert.deepEqual(readFileSync(stateFile()), before, 'nothing applied');
  });
});

test('a root the change created is rolled back by a destroy plan at the head commit', async () => {
  const network = { repoDir: repo.dir, commit: repo.commits.base, dir: 'terraform/network', stateDir };
  await runner.applyRoot(network);
  assert.deepEqual(inputsIn(stateFile()), { 'terraform_data.vpc': '10.0.0.0/16' });
  const destroyed = await runner.applyRoot({ ...network, destroy: true });
  assert.deepEqual(destroyed.summary, { add: 0, change: 0, destroy: 1, replace: 0, forget: 0 });
  assert.deepEqual(inputsIn(stateFile()), {});
});

describe('bad input: a clear error, nothing changed', () => {
  test('HCL that does not parse names the file and line; the state is untouched', async () => {
    await runner.applyRoot({ ...production(), commit: repo.commits.head });
    const before = readFileSync(stateFile());
    await assert.rejects(runner.planRoot({ ...production(), commit: repo.commits.badHcl }), (err: unknown) => {
      assert.ok(err instanceof TerraformConfigError);
      assert.equal(err.nonRetryable, true);
      assert.equal(err.file, DATABASE);
      assert.equal(typeof err.line, 'number');
      assert.match(err.message, /terraform\/modules\/shared\/database\.tf:\d+ \(root terraform\/production\)/);
      assert.match(err.detail, /Error: /);
      return true;
    });
    await assert.rejects(runner.applyRoot({ ...production(), commit: repo.commits.badHcl }), TerraformConfigError);
    assert.deepEqual(readFileSync(stateFile()), before);
    assert.deepEqual(scratchLeft(), []);
  });

  test('an unknown commit, a missing root, a var file outside the repository', async () => {
    const cases: [Partial<Parameters<typeof runner.planRoot>[0]>, RegExp][] = [
      [{ commit: 'f'.repeat(40) }, /no commit "f{40}"/],
      [{ commit: repo.commits.base, dir: 'terraform/qa' }, /no directory terraform\/qa at commit/],
      [{ commit: repo.commits.base, dir: '../elsewhere' }, /must be a directory inside the repository/],
      [{ commit: repo.commits.base, varFiles: ['/etc/passwd'] }, /var file "\/etc\/passwd" must be a path inside/],
      [{ commit: repo.commits.base, varFiles: ['terraform/production/qa.tfvars'] }, /qa\.tfvars does not exist/],
      [{ commit: repo.commits.base, stateDir: 'relative/state' }, /must be an absolute path/],
    ];
    for (const [override, message] of cases) {
      await assert.rejects(
        runner.planRoot({ ...production(), commit: repo.commits.base, ...override }),
        (err: unknown) => {
          assert.ok(err instanceof TerraformConfigError, String(err));
          assert.equal(err.stage, 'checkout');
          assert.match(err.message, message);
          return true;
        },
      );
    }
    assert.equal(existsSync(stateDir), false, 'no state written');
  });
});

describe('locking and cancellation', () => {
  test('a lock held by another run is a retryable lock error; cancelling that run releases it', async () => {
    const slow = { repoDir: repo.dir, commit: repo.commits.base, dir: 'terraform/slow', stateDir };
    const controller = new AbortController();
    const holder = runner.applyRoot({ ...slow, signal: controller.signal });
    holder.catch(() => undefined);
    const lockInfo = join(stateDir, '.terraform.tfstate.lock.info');
    // applyRoot plans (locking and unlocking), then applies: wait for the apply's own lock, or the
    // plan below could slip in between the two and find the state free.
    const applyHolds = () => {
      try {
        return (
          (JSON.parse(readFileSync(lockInfo, 'utf8')) as { Operation?: string }).Operation === 'OperationTypeApply'
        );
      } catch {
        return false; // not there yet, or being written
      }
    };
    for (let i = 0; i < 600 && !applyHolds(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(applyHolds(), 'the first apply holds the state lock');

    await assert.rejects(runner.planRoot(slow), (err: unknown) => {
      assert.ok(err instanceof TerraformLockError, String(err));
      assert.equal(err.nonRetryable, false);
      assert.equal(err.type, 'TerraformStateLocked');
      assert.match(err.message, /plan of root terraform\/slow/);
      assert.match(err.detail, /Error acquiring the state lock/);
      return true;
    });

    const cancelledAt = Date.now();
    controller.abort(new Error('promotion cancelled'));
    await assert.rejects(holder, /promotion cancelled/);
    assert.ok(Date.now() - cancelledAt < 30_000, 'tofu stopped on SIGINT instead of finishing the 60 s provisioner');
    assert.equal(existsSync(lockInfo), false, 'tofu released its lock before the call returned');
    // ... and wrote the state it had: the interrupted resource is recorded, tainted for replacement.
    const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as {
      resources: { instances: { status?: string }[] }[];
    };
    assert.equal(state.resources[0]?.instances[0]?.status, 'tainted');
    // The lock is free again: the next run is not refused, and it replaces the tainted resource.
    assert.deepEqual((await runner.planRoot(slow)).summary, { add: 0, change: 0, destroy: 0, replace: 1, forget: 0 });
    assert.deepEqual(scratchLeft(), []);
  });

  test('an already cancelled call runs nothing', async () => {
    const reason = new Error('cancelled before start');
    await assert.rejects(
      runner.applyRoot({ ...production(), commit: repo.commits.base, signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    assert.equal(existsSync(stateDir), false);
  });
});

test("the clone's working tree, index and HEAD are untouched", () => {
  assert.deepEqual(cloneState(), cloneBefore);
  assert.match(readFileSync(join(repo.dir, 'README.md'), 'utf8'), /# local edit/);
});
