// Which environments' Terraform roots a change reaches, so that exactly those are planned: a root is
// reached when a changed file is in its own module, in a module it uses (directly or through other
// modules: AI-DEPLOY-012's terraform/modules/shared/database.tf reached terraform/production), or is
// one of its var files. The module graph is the policy gate's own (src/policy/engine/terraform-modules).
import { posix } from 'node:path';
import type { ChangeTrees } from '../../policy/engine/change-files';
import { moduleOf, readTerraformModules, type TerraformModules } from '../../policy/engine/terraform-modules';
import type { TerraformSource } from './terraform-source';

export interface ReachedRoot<E extends string = string> {
  environment: E;
  source: TerraformSource;
  /** The changed files that reach the root, each with its module chain up to (not including) the root. */
  reachedBy: { path: string; via: string[] }[];
}

function normalizeDir(dir: string): string {
  const d = posix.normalize(dir).replace(/\/$/, '');
  return d === '.' ? '' : d;
}

/** The roots (one per environment that has one) that `changedPaths` reach, in `sources` order. */
export function rootsReached<E extends string>(
  modules: TerraformModules,
  changedPaths: readonly string[],
  sources: Partial<Record<E, TerraformSource>>,
): ReachedRoot<E>[] {
  const out: ReachedRoot<E>[] = [];
  for (const [environment, source] of Object.entries(sources) as [E, TerraformSource | undefined][]) {
    if (!source) continue;
    const root = normalizeDir(source.dir);
    const varFiles = new Set((source.varFiles ?? []).map((f) => posix.normalize(f)));
    const reachedBy: ReachedRoot<E>['reachedBy'] = [];
    for (const path of changedPaths) {
      if (varFiles.has(path)) {
        reachedBy.push({ path, via: [] });
        continue;
      }
      const module = moduleOf(modules, path);
      if (module === undefined) continue;
      if (module === root) reachedBy.push({ path, via: [] });
      else {
        const user = modules.graph.usersOf(module).find((u) => u.node === root);
        if (user) reachedBy.push({ path, via: user.via });
      }
    }
    if (reachedBy.length) out.push({ environment, source, reachedBy });
  }
  return out;
}

/** rootsReached over a change's two trees (e.g. gitTree(repo, base) and gitTree(repo, head)). */
export async function rootsReachedByChange<E extends string>(
  trees: ChangeTrees,
  changedPaths: readonly string[],
  sources: Partial<Record<E, TerraformSource>>,
): Promise<ReachedRoot<E>[]> {
  return rootsReached(await readTerraformModules([trees.base, trees.head]), changedPaths, sources);
}
