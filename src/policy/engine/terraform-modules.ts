// Terraform module graph: a directory of .tf files is a module; `module { source = "../x" }` uses x.
import { posix } from 'node:path';
import { ReachGraph, resolveRepoPath } from './reach-graph';
import { localModuleSources, type TerraformJson } from './terraform-file';

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
