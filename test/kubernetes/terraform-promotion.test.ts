// End to end, the Terraform of a change: the real promotion workflow (time-skipping server, real
// worker and activities) and the real, pinned OpenTofu with local state, on a repository shaped like
// AI-DEPLOY-012 (an index added in terraform/modules/shared/database.tf, used by the staging and
// production roots). terraform_data resources need no provider download, so plans, applies and
// state are real. The service is Terraform-only: no cluster. terraform/network is a root of both
// environments that the change does not reach: it is never touched.
import { afterAll, afterEach, beforeAll, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { atRate, createRig, feed, sendSample, testPolicyYaml, timeSkippingEnv, untilStage } from '../helpers/harness';
import { backgroundBuildDone } from '../helpers/background-build';
import { signedApproval } from '../helpers/approver-keys';
import { createChangeDeployer, type ChangeSnapshot } from '../../src/integrations/change-deployer';
import { createSimulatedDeployer } from '../../src/integrations/simulation/simulated-deployer';
import { createTerraformRunner, type TerraformRunner } from '../../src/integrations/terraform/terraform-runner';
import { resolveTofuBinary } from '../../src/integrations/terraform/tofu-binary';
import { parsePolicy } from '../../src/policy/config/load';
import { approveUpdate, type PromotionResult } from '../../src/workflows/messages';
import { createTerraformRepo, type TerraformRepo } from './terraform-repo';

const SERVICE = 'user-database';
type Environment = 'staging' | 'production';
const ROOT = { staging: 'terraform/staging', production: 'terraform/production' } as const;
const NETWORK = 'terraform/network';

let runner: TerraformRunner;
let repo: TerraformRepo;
let env: TestWorkflowEnvironment;
let work: string;
let stateDir: string;

beforeAll(async () => {
  await backgroundBuildDone(); // OpenTofu
  runner = createTerraformRunner({ tofu: resolveTofuBinary(), lockTimeoutSeconds: 5 });
  repo = createTerraformRepo();
  work = mkdtempSync(join(tmpdir(), 'airlock-tf-promotion-'));
}, 45 * 60_000);
afterAll(() => {
  repo?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});
// A time-skipping server per test (a rollback leaves a time lock behind: sdk-java#1138), and fresh state.
let counter = 0;
beforeEach(async () => {
  env = await timeSkippingEnv();
  stateDir = join(work, `state-${++counter}`);
});
afterEach(async () => {
  await env?.teardown();
});

/** Where the change deployer keeps a root's state: <stateDir>/<environment>/<root dir>. */
const stateFile = (environment: Environment, dir: string) => join(stateDir, environment, dir, 'terraform.tfstate');
const varFiles = (environment: Environment) =>
  environment === 'production' ? ['terraform/production/production.tfvars'] : [];

/** The state before Airlock: `commit` applied to every root of both environments (by an operator). */
async function liveAt(commit: string): Promise<void> {
  for (const environment of ['staging', 'production'] as const)
    for (const dir of [ROOT[environment], NETWORK])
      await runner.applyRoot({
        repoDir: repo.dir,
        commit,
        dir,
        varFiles: dir === NETWORK ? [] : varFiles(environment),
        stateDir: join(stateDir, environment, dir),
      });
}

interface StateResource {
  module?: string;
  type: string;
  name: string;
  instances: { attributes: { id: string; input: unknown; triggers_replace: unknown } }[];
}
/** address → the resource's attributes, as the state file records them. */
function resourcesIn(environment: Environment, dir: string, { withIds = true } = {}): Record<string, unknown> {
  const state = JSON.parse(readFileSync(stateFile(environment, dir), 'utf8')) as { resources: StateResource[] };
  const out: Record<string, unknown> = {};
  for (const r of state.resources) {
    const { id, ...rest } = r.instances[0].attributes;
    out[`${r.module ? `${r.module}.` : ''}${r.type}.${r.name}`] = withIds ? { id, ...rest } : rest;
  }
  return out;
}
const inputOf = (resources: Record<string, unknown>, address: string) =>
  (resources[address] as { input?: { value: unknown } } | undefined)?.input?.value;
const USERS = 'module.database.terraform_data.users_table';
const LAST_LOGIN = 'module.database.terraform_data.index_users_last_login';

const PRODUCTION_ROOT = `{ dir: ${ROOT.production}, varFiles: [${varFiles('production').join(', ')}] }`;

/** The change deployer for a Terraform-only service whose environments list these roots (YAML flow lists). */
function deployerFor(staging: string, production: string) {
  const policyText = testPolicyYaml({
    services: `  - name: ${SERVICE}
    paths: ["terraform/**"]
    environments:
      staging: { terraform: ${staging} }
      production: { terraform: ${production} }`,
  });
  const policy = parsePolicy(policyText, 'test-policy').policy;
  const deployer = createChangeDeployer({
    kubeconfig: new KubeConfig(),
    settings: () => {
      throw new Error('a Terraform-only service never reaches the Kubernetes settings');
    },
    services: () => policy.services,
    repoDir: repo.dir,
    imageDeployer: createSimulatedDeployer(),
    terraform: { runner, stateDir },
  });
  return { deployer, policyText };
}

function rigFor(production = PRODUCTION_ROOT) {
  const { deployer, policyText } = deployerFor(
    `[{ dir: ${ROOT.staging} }, { dir: ${NETWORK} }]`,
    `[${production}, { dir: ${NETWORK} }]`,
  );
  return createRig(env, { deps: { deployer, loadPolicy: () => parsePolicy(policyText, 'test-policy') } });
}

const start = (rig: ReturnType<typeof rigFor>, baseCommit: string, commit: string): Promise<WorkflowHandle> =>
  rig.start({ service: SERVICE, commit, baseCommit, version: commit.slice(0, 12) });

describe('a shared-module change reaching the staging and production roots', () => {
  test('promoted: staging applied before the bake, the production plan shown, production applied only after two approvals', async () => {
    await liveAt(repo.commits.base);
    const productionBefore = readFileSync(stateFile('production', ROOT.production));
    const networkBefore = {
      staging: readFileSync(stateFile('staging', NETWORK)),
      production: readFileSync(stateFile('production', NETWORK)),
    };
    const rig = rigFor();
    await rig.run(async () => {
      const h = await start(rig, repo.commits.base, repo.commits.head);
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 20 });
      // Staging has the change before the bake starts; production does not.
      const staging = resourcesIn('staging', ROOT.staging);
      assert.deepEqual(inputOf(staging, LAST_LOGIN), {
        table: 'users',
        columns: ['last_login_at'],
        environment: 'staging',
      });
      assert.equal((inputOf(staging, USERS) as { comment: string }).comment, 'slow query AI-DEPLOY-012');
      assert.deepEqual(readFileSync(stateFile('production', ROOT.production)), productionBefore);

      const asked = await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 20 });
      const pc = asked.productionChange;
      assert.ok(pc, 'the approval request carries the production plan');
      assert.match(pc.text, /^# terraform terraform\/production: 1 to add, 1 to change, 0 to replace, 0 to destroy$/m);
      assert.match(pc.text, /module\.database\.terraform_data\.index_users_last_login will be created/);
      assert.match(pc.text, /environment\s+=\s+"production"/);
      assert.doesNotMatch(pc.text, /terraform\/network/, 'a root the change does not reach is not planned');
      assert.ok(
        pc.notes.includes('not canaried, reaches production only after approval: terraform terraform/production'),
      );
      assert.ok(pc.notes.includes('terraform terraform/network: not reached by the change, untouched'));
      assert.ok(!pc.notes.some((n) => /destroy/i.test(n)), 'nothing destroyed, nothing said about it');

      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      // One approval is not two: production still as it was.
      assert.deepEqual(readFileSync(stateFile('production', ROOT.production)), productionBefore);
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      await feed(env, h, { stop: untilStage('ended'), stepMinutes: 20 });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'promoted');
    });
    const production = resourcesIn('production', ROOT.production);
    assert.deepEqual(inputOf(production, LAST_LOGIN), {
      table: 'users',
      columns: ['last_login_at'],
      environment: 'production',
    });
    // The production var file was applied with it.
    assert.equal((inputOf(production, USERS) as { instance_class: string }).instance_class, 'db.large');
    for (const environment of ['staging', 'production'] as const)
      assert.deepEqual(readFileSync(stateFile(environment, NETWORK)), networkBefore[environment], 'network untouched');
  });

  test('rolled back by a breach during the canary: staging state is the base apply again, production never touched', async () => {
    await liveAt(repo.commits.base);
    const stagingBefore = resourcesIn('staging', ROOT.staging);
    const productionBefore = readFileSync(stateFile('production', ROOT.production));
    const rig = rigFor();
    await rig.run(async () => {
      const h = await start(rig, repo.commits.base, repo.commits.head);
      await feed(env, h, { stop: untilStage('canary'), stepMinutes: 20 });
      assert.ok(resourcesIn('staging', ROOT.staging)[LAST_LOGIN], 'staging has the change during the canary');
      await sendSample(env, h, { environment: 'production', ...atRate(0.05) });
      const r: PromotionResult = await h.result();
      assert.equal(r.outcome, 'rolled_back');
    });
    // The update is undone in place and the added index destroyed: the very resources of before, ids included.
    assert.deepEqual(resourcesIn('staging', ROOT.staging), stagingBefore);
    assert.deepEqual(readFileSync(stateFile('production', ROOT.production)), productionBefore);
  });
});

describe('refused Terraform: nothing applied, the promotion ends failed', () => {
  test('a production plan that replaces and destroys is refused without allowDestroy, before approval is asked; canary and staging go back', async () => {
    await liveAt(repo.commits.head);
    const stagingBefore = resourcesIn('staging', ROOT.staging, { withIds: false });
    const productionBefore = readFileSync(stateFile('production', ROOT.production));
    const rig = rigFor();
    const r: PromotionResult = await rig.run(async () => {
      const h = await start(rig, repo.commits.head, repo.commits.destructive);
      await feed(env, h, { stop: untilStage('baking'), stepMinutes: 20 });
      // Staging may destroy: it did.
      const staging = resourcesIn('staging', ROOT.staging);
      assert.equal(staging['module.database.terraform_data.index_users_email'], undefined);
      // Production would refuse the plan whatever the approvers say: the promotion stops when it
      // computes the production change, before anyone is asked, and says why.
      const ended = await feed(env, h, { stop: untilStage('ended'), stepMinutes: 20 });
      assert.equal(ended.approvalRequestedAt, undefined, 'no approval was asked for');
      assert.ok(
        ended.productionChange?.notes.some(
          (n) =>
            n.startsWith('REFUSED: terraform terraform/production would destroy or replace in production') &&
            n.includes('destroy module.database.terraform_data.index_users_email'),
        ),
        `notes: ${ended.productionChange?.notes.join(' | ')}`,
      );
      return h.result();
    });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.interruption?.kind, 'deploy_failed');
    const message = (r.interruption as { message: string }).message;
    assert.match(message, /production plan destroys or replaces resources and the policy does not allow it/);
    assert.match(message, /replace module\.database\.terraform_data\.index_orders_created/);
    assert.match(message, /destroy module\.database\.terraform_data\.index_users_email/);
    assert.match(message, /allowDestroy: true/);
    assert.deepEqual(readFileSync(stateFile('production', ROOT.production)), productionBefore, 'nothing applied');
    // Staging re-applied at the base commit: the same resources with the same values (a destroyed
    // terraform_data comes back with a new id).
    assert.deepEqual(resourcesIn('staging', ROOT.staging, { withIds: false }), stagingBefore);
  });

  test('with allowDestroy on the production root the same plan is applied after approval', async () => {
    await liveAt(repo.commits.head);
    const rig = rigFor(
      `{ dir: ${ROOT.production}, varFiles: [${varFiles('production').join(', ')}], allowDestroy: true }`,
    );
    await rig.run(async () => {
      const h = await start(rig, repo.commits.head, repo.commits.destructive);
      const asked = await feed(env, h, { stop: untilStage('awaiting_approval'), stepMinutes: 20 });
      assert.ok(
        asked.productionChange?.notes.some((n) =>
          n.startsWith("DESTROYS IN PRODUCTION (allowed by the policy's allowDestroy): terraform terraform/production"),
        ),
      );
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'alice')] });
      await h.executeUpdate(approveUpdate, { args: [await signedApproval(env, h, 'bob')] });
      await feed(env, h, { stop: untilStage('ended'), stepMinutes: 20 });
      assert.equal((await h.result()).outcome, 'promoted');
    });
    assert.equal(
      resourcesIn('production', ROOT.production)['module.database.terraform_data.index_users_email'],
      undefined,
    );
  });

  test('a plan that fails (invalid HCL in the shared module): the error names the file, nothing is applied', async () => {
    await liveAt(repo.commits.destructive);
    const stagingBefore = resourcesIn('staging', ROOT.staging);
    const productionBefore = readFileSync(stateFile('production', ROOT.production));
    const rig = rigFor();
    const r: PromotionResult = await rig.run(async () => {
      const h = await start(rig, repo.commits.destructive, repo.commits.badHcl);
      await feed(env, h, { stop: untilStage('ended'), stepMinutes: 20 });
      // Not retried: a plan that does not parse fails the same way every time.
      const events = (await h.fetchHistory()).events ?? [];
      const deploys = events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployToEnvironment',
      );
      assert.equal(deploys.length, 1);
      const failed = events.flatMap((e) => e.activityTaskFailedEventAttributes?.failure ?? []);
      assert.deepEqual(
        failed.map((f) => [f.applicationFailureInfo?.type, f.applicationFailureInfo?.nonRetryable]),
        [['AirlockDeployRejected', true]],
      );
      return h.result();
    });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.interruption?.kind, 'deploy_failed');
    const { message, environment } = r.interruption as { message: string; environment: string };
    assert.equal(environment, 'staging');
    // tofu's own diagnostic, the file named from the repository root.
    assert.match(
      message,
      /^deploy user-database \w+ to staging: terraform: init of terraform\/modules\/shared\/database\.tf:23 \(root terraform\/staging\)/,
    );
    assert.match(message, /Error: Invalid expression/);
    assert.deepEqual(resourcesIn('staging', ROOT.staging), stagingBefore, 'nothing applied to staging');
    assert.deepEqual(readFileSync(stateFile('production', ROOT.production)), productionBefore);
  });
});

describe('the deployer alone', () => {
  test('several reached roots: applied in policy order, restored newest first; a root not reached is left alone', async () => {
    await liveAt(repo.commits.base);
    // A second staging root that uses the shared module (the production root's files, staging state).
    const second = join(stateDir, 'staging', ROOT.production);
    await runner.applyRoot({ repoDir: repo.dir, commit: repo.commits.base, dir: ROOT.production, stateDir: second });
    const { deployer } = deployerFor(
      `[{ dir: ${ROOT.staging} }, { dir: ${ROOT.production} }, { dir: ${NETWORK} }]`,
      PRODUCTION_ROOT,
    );
    const change = { commit: repo.commits.head, baseCommit: repo.commits.base };
    await assert.rejects(
      deployer.snapshot(SERVICE, 'staging', {}, { commit: repo.commits.head }),
      /carries no base commit, so a rollback of terraform\/staging, terraform\/production, terraform\/network in staging would have no state to go back to/,
    );
    const snapshot = (await deployer.snapshot(SERVICE, 'staging', {}, change)) as ChangeSnapshot;
    assert.deepEqual(
      snapshot.terraform.map((t) => [t.source.dir, t.commit, t.destroy]),
      [
        [ROOT.staging, repo.commits.base, false],
        [ROOT.production, repo.commits.base, false],
      ],
    );
    const networkBefore = readFileSync(stateFile('staging', NETWORK));
    const deployed = await deployer.deploy({ service: SERVICE, environment: 'staging', version: 'v', change });
    assert.match(
      deployed.summary,
      /: terraform terraform\/staging: 1 added, 1 changed, 0 replaced, 0 destroyed; terraform terraform\/production: 1 added, 1 changed, 0 replaced, 0 destroyed; terraform terraform\/network: not reached by the change, untouched$/,
    );
    const restored = await deployer.restore(snapshot);
    assert.match(
      restored.summary,
      /restored: terraform terraform\/production re-applied at \w{12}; terraform terraform\/staging re-applied at \w{12}$/,
    );
    // The order as the state files saw it: the root applied last was put back first.
    const written = (f: string) => statSync(f).mtimeMs;
    assert.ok(written(stateFile('staging', ROOT.staging)) > written(join(second, 'terraform.tfstate')));
    assert.equal(resourcesIn('staging', ROOT.staging)[LAST_LOGIN], undefined);
    assert.deepEqual(readFileSync(stateFile('staging', NETWORK)), networkBefore);
  });

  test('a restore leaves a root alone when nothing was applied to it since the snapshot (no apply nobody approved)', async () => {
    await liveAt(repo.commits.base);
    const { deployer } = deployerFor(`[{ dir: ${ROOT.staging} }]`, PRODUCTION_ROOT);
    const change = { commit: repo.commits.head, baseCommit: repo.commits.base };
    // Production is snapshotted before the canary; its roots are applied only after approval.
    const production = (await deployer.snapshot(SERVICE, 'production', {}, change)) as ChangeSnapshot;
    assert.match(production.terraform[0].state ?? '', /^sha256:[0-9a-f]{64}$/);
    const before = readFileSync(stateFile('production', ROOT.production));
    const mtime = statSync(stateFile('production', ROOT.production)).mtimeMs;
    const restored = await deployer.restore(production);
    assert.match(
      restored.summary,
      /restored: terraform terraform\/production: not applied since the snapshot, left alone$/,
    );
    assert.deepEqual(readFileSync(stateFile('production', ROOT.production)), before);
    assert.equal(statSync(stateFile('production', ROOT.production)).mtimeMs, mtime, 'tofu did not run');
    // Applied after the snapshot: re-applied at the base commit.
    const staging = (await deployer.snapshot(SERVICE, 'staging', {}, change)) as ChangeSnapshot;
    await deployer.deploy({ service: SERVICE, environment: 'staging', version: 'v', change });
    assert.match((await deployer.restore(staging)).summary, /terraform terraform\/staging re-applied at \w{12}$/);
  });
});
