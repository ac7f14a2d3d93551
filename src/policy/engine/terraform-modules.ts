// Terraform module graph: a directory of .tf files is a module; `module { source = "../x" }` uses x.
import { posix } from 'node:path';
import type { FileTree } from './change-files';
import { ReachGraph, resolveRepoPath } from './reach-graph';
import { isTerraformPath, localModuleSources, parseTerraformFile, type TerraformJson } from './terraform-file';

export interface TerraformModules {
  graph: ReachGraph;
  /** module directory → its .tf files */
  files: Map<string, string[]>;
}

export function buildTerraformModules(parsed: Iterable<[string, TerraformJson]>): TerraformModules {
  const graph = new ReachGraph();
  const files = new Map<string, string[]>();
  for (const [path, json] of parsed) {
    const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    const list = files.get(dir) ?? [];
    if (!list.includes(path)) list.push(path);
    files.set(dir, list);
    for (const source of localModuleSources(json)) {
      const used = resolveRepoPath(dir, source);
      if (used !== undefined) graph.addUse(dir, used);
    }
  }
  return { graph, files };
}

/**
 * The module graph of every Terraform file in the given trees (a change's base and head: a `module`
 * use the change removes still reaches the root it was removed from). Files that do not parse are
 * left out; the policy gate reports them.
 */
export async function readTerraformModules(trees: readonly FileTree[]): Promise<TerraformModules> {
  const parsed: [string, TerraformJson][] = [];
  for (const tree of trees) {
    for (const [path, text] of await tree.read(tree.paths().filter(isTerraformPath))) {
      const result = await parseTerraformFile(path, text);
      if (result.ok) parsed.push([path, result.json]);
    }
  }
  return buildTerraformModules(parsed);
}

/** The module directory a file belongs to: the deepest directory above it that holds .tf files. */
export function moduleOf(modules: TerraformModules, path: string): string | undefined {
  for (let dir = posix.dirname(path); ; dir = posix.dirname(dir)) {
    const key = dir === '.' ? '' : dir;
    if (modules.files.has(key)) return key;
    if (key === '') return undefined;
  }
}
