// The Terraform part of promoting a change (change-deployer.ts). Of an environment's roots only those
// the change reaches are planned, applied and restored (the policy gate's module graph: an edit of
// terraform/modules/shared reaches every root using it); the others are left alone and the summary
// says so. A production plan that destroys or replaces anything is refused before anything is
// applied unless the root allows it. Rollback re-applies each applied root at the base commit,
// newest first (or destroys a root the change created).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Environment } from '../../workflows/messages';
import type { TerraformSource } from '../../policy/config/environment-source-schema';
import { diffTrees, type FileTree } from '../../policy/engine/change-files';
import { gitTree } from '../../policy/engine/trees/git-tree';
import { DeployRejectedError, type ChangeRef } from '../deployer';
import { rootsReachedByChange } from './roots-reached';
import { destructiveChanges, type TerraformPlan } from './terraform-plan';
import type { TerraformRunner } from './terraform-runner';

/** What a snapshot records per reached root: re-applied at `commit`, or destroyed when the change created it. */
export interface RootRestore {
  source: TerraformSource;
  commit: string;
  destroy: boolean;
  /**
   * sha256 of the root's state file when the snapshot was taken ('absent' without one). A restore
   * leaves a root whose state is unchanged alone: nothing was applied to it (a production root
   * during a canary rollback), and an apply nobody approved is not a rollback. Snapshots taken
   * before this field existed re-apply every root, as they did.
   */
  state?: string;
}

export interface TerraformChangeOptions {
  runner: TerraformRunner;
  /** Airlock's state directory: one subdirectory per environment and root. */
  stateDir: string;
  repoDir: string;
}

interface Reach {
  reached: TerraformSource[];
  untouched: TerraformSource[];
  base?: FileTree;
}

const describeRoot = (r: TerraformSource) => `terraform ${r.dir}${r.workspace ? ` (workspace ${r.workspace})` : ''}`;
const listDestructive = (plan: TerraformPlan) =>
  destructiveChanges(plan)
    .map((d) => `${d.kind} ${d.address}${d.reason ? ` (${d.reason})` : ''}`)
    .join(', ');
const counts = (p: TerraformPlan, tense: 'planned' | 'done') => {
  const s = p.summary;
  const [add, change, replace, destroy] =
    tense === 'done'
      ? ['added', 'changed', 'replaced', 'destroyed']
      : ['to add', 'to change', 'to replace', 'to destroy'];
  return `${s.add} ${add}, ${s.change} ${change}, ${s.replace} ${replace}, ${s.destroy} ${destroy}`;
};

export function createTerraformChange(o: TerraformChangeOptions) {
  const stateDirOf = (environment: Environment, r: TerraformSource) =>
    `${o.stateDir}/${environment}/${r.dir}${r.workspace ? `@${r.workspace}` : ''}`;
  /** The state file the backend override points at (backendOverride in root-checkout.ts). */
  const stateFileOf = (environment: Environment, r: TerraformSource) =>
    join(stateDirOf(environment, r), ...(r.workspace ? ['workspaces', r.workspace] : []), 'terraform.tfstate');
  const stateFingerprint = async (environment: Environment, r: TerraformSource) =>
    readFile(stateFileOf(environment, r)).then(
      (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return 'absent';
        throw err;
      },
    );
  const request = (environment: Environment, r: TerraformSource, commit: string, signal?: AbortSignal) => ({
    dir: r.dir,
    ...(r.workspace ? { workspace: r.workspace } : {}),
    varFiles: r.varFiles,
    repoDir: o.repoDir,
    commit,
    stateDir: stateDirOf(environment, r),
    ...(signal ? { signal } : {}),
  });

  /** The roots the files changed between base and head reach; every root when there is no base to compare with. */
  async function reach(roots: TerraformSource[], change: ChangeRef): Promise<Reach> {
    if (!change.baseCommit) return { reached: roots, untouched: [] };
    const trees = { base: await gitTree(o.repoDir, change.baseCommit), head: await gitTree(o.repoDir, change.commit) };
    const changed = (await diffTrees(trees)).map((f) => f.path);
    const byIndex = Object.fromEntries(roots.map((r, i) => [String(i), r]));
    const hit = new Set((await rootsReachedByChange(trees, changed, byIndex)).map((r) => Number(r.environment)));
    return {
      reached: roots.filter((_, i) => hit.has(i)),
      untouched: roots.filter((_, i) => !hit.has(i)),
      base: trees.base,
    };
  }
  const untouchedNotes = (r: Reach) =>
    r.untouched.map((u) => `${describeRoot(u)}: not reached by the change, untouched`);

  /** Why production refuses destroying plans, and how to allow them (the rollout's and the preview's words). */
  const refusal = (service: string, refused: string[]) =>
    `terraform: ${service}'s production plan destroys or replaces resources and the policy does not allow it: ${refused.join('; ')}. ` +
    `To allow it, set allowDestroy: true on the root in services[${service}].environments.production.terraform`;

  /** Production plans of the reached roots, refused whole when one destroys or replaces what its root does not allow. */
  async function checkedProductionPlans(
    service: string,
    roots: TerraformSource[],
    change: ChangeRef,
    signal?: AbortSignal,
  ): Promise<TerraformPlan[]> {
    const plans: TerraformPlan[] = [];
    for (const r of roots) plans.push(await o.runner.planRoot(request('production', r, change.commit, signal)));
    const refused = roots.flatMap((r, i) =>
      !r.allowDestroy && destructiveChanges(plans[i]).length ? [`${r.dir}: ${listDestructive(plans[i])}`] : [],
    );
    if (refused.length) throw new DeployRejectedError(`${refusal(service, refused)}, so nothing was applied`);
    return plans;
  }

  return {
    /** One entry per reached root, in apply order. Refused without a base commit: a rollback would have nothing to re-apply. */
    async snapshot(environment: Environment, roots: TerraformSource[], change: ChangeRef): Promise<RootRestore[]> {
      if (!change.baseCommit)
        throw new DeployRejectedError(
          `terraform: the change ${change.commit.slice(0, 12)} carries no base commit, so a rollback of ${roots.map((r) => r.dir).join(', ')} in ${environment} would have no state to go back to; start the promotion with its base commit`,
        );
      const { reached, base } = await reach(roots, change);
      const atBase = new Set(base!.paths().map((p) => posix.dirname(p)));
      return Promise.all(
        reached.map(async (source) => ({
          ...(atBase.has(source.dir)
            ? { source, commit: change.baseCommit!, destroy: false }
            : // The change created the root: going back means destroying what it applied.
              { source, commit: change.commit, destroy: true }),
          state: await stateFingerprint(environment, source),
        })),
      );
    },

    /**
     * Plans (and in production checks) every reached root before anything is applied; the returned
     * apply() then applies them in order, in production exactly the checked plans (their digests).
     */
    async prepareApply(
      service: string,
      environment: Environment,
      roots: TerraformSource[],
      change: ChangeRef,
      signal?: AbortSignal,
    ): Promise<() => Promise<string[]>> {
      const r = await reach(roots, change);
      const checked =
        environment === 'production' ? await checkedProductionPlans(service, r.reached, change, signal) : undefined;
      return async () => {
        const done: string[] = [];
        for (const [i, root] of r.reached.entries()) {
          const applied = await o.runner.applyRoot({
            ...request(environment, root, change.commit, signal),
            ...(checked ? { expectedDigest: checked[i].digest } : {}),
          });
          const destroyed = listDestructive(applied);
          done.push(
            `${describeRoot(root)}: ${counts(applied, 'done')}${destroyed ? ` (${environment} destroyed or replaced: ${destroyed})` : ''}`,
          );
        }
        return [...done, ...untouchedNotes(r)];
      };
    },

    /** Each reached root's plan for the approvers, with loud notes on destroy and replace. */
    async preview(
      service: string,
      environment: Environment,
      roots: TerraformSource[],
      change: ChangeRef,
      signal?: AbortSignal,
    ) {
      const r = await reach(roots, change);
      const parts: string[] = [];
      const digests: string[] = [];
      const notes: string[] = [];
      const refused: string[] = [];
      for (const root of r.reached) {
        const plan = await o.runner.planRoot(request(environment, root, change.commit, signal));
        parts.push(`# ${describeRoot(root)}: ${counts(plan, 'planned')}`, plan.text);
        digests.push(plan.digest);
        const destroyed = listDestructive(plan);
        if (destroyed && environment !== 'production')
          notes.push(`${describeRoot(root)} destroys or replaces in ${environment}: ${destroyed}`);
        else if (destroyed && root.allowDestroy)
          notes.push(
            `DESTROYS IN PRODUCTION (allowed by the policy's allowDestroy): ${describeRoot(root)}: ${destroyed}`,
          );
        else if (destroyed) {
          notes.push(
            `REFUSED: ${describeRoot(root)} would destroy or replace in production (${destroyed}); the production apply will refuse it, as the root does not set allowDestroy`,
          );
          refused.push(`${root.dir}: ${destroyed}`);
        }
        if (environment === 'production')
          notes.push(`not canaried, reaches production only after approval: ${describeRoot(root)}`);
      }
      notes.push(...untouchedNotes(r));
      return { parts, digests, notes, ...(refused.length ? { refused: refusal(service, refused) } : {}) };
    },

    /** Newest first: the roots in reverse apply order. */
    async restore(environment: Environment, roots: RootRestore[], signal?: AbortSignal): Promise<string[]> {
      const done: string[] = [];
      for (const t of [...roots].reverse()) {
        if (t.state !== undefined && (await stateFingerprint(environment, t.source)) === t.state) {
          done.push(`${describeRoot(t.source)}: not applied since the snapshot, left alone`);
          continue;
        }
        await o.runner.applyRoot({ ...request(environment, t.source, t.commit, signal), destroy: t.destroy });
        done.push(`${describeRoot(t.source)} ${t.destroy ? 'destroyed' : `re-applied at ${t.commit.slice(0, 12)}`}`);
      }
      return done;
    },
  };
}

export type TerraformChange = ReturnType<typeof createTerraformChange>;
