// Kustomize graph: an overlay's kustomization uses the bases, components and files it lists.
import { posix } from 'node:path';
import { getIn, type ManifestDoc } from './manifest';
import { ReachGraph, resolveRepoPath } from './reach-graph';

const KUSTOMIZATION_NAMES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

export function isKustomizationPath(path: string): boolean {
  return KUSTOMIZATION_NAMES.has(posix.basename(path));
}

export interface KustomizeBases {
  /** Nodes are kustomization file paths and plain file paths. */
  graph: ReachGraph;
  /** Files a kustomization applies as patches: partial objects, not workloads of their own. */
  patches: Set<string>;
}

const PATCH_KEYS = ['patches', 'patchesJson6902'];

/** The patch files a kustomization lists (strategic-merge and JSON 6902 alike). */
function patchPaths(doc: unknown): string[] {
  const out: string[] = [];
  const list = getIn(doc, ['patchesStrategicMerge']);
  if (Array.isArray(list)) out.push(...list.filter((x): x is string => typeof x === 'string' && !x.includes('\n')));
  for (const key of PATCH_KEYS) {
    const entries = getIn(doc, [key]);
    if (Array.isArray(entries))
      for (const p of entries) if (typeof getIn(p, ['path']) === 'string') out.push(getIn(p, ['path']) as string);
  }
  return out;
}

/** Every local path a kustomization refers to (resources, bases, components, patches, generators). */
function references(doc: unknown): string[] {
  const out: string[] = [];
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  for (const key of ['resources', 'bases', 'components', 'crds', 'configurations', 'transformers', 'generators']) {
    out.push(...strings(getIn(doc, [key])));
  }
  out.push(...patchPaths(doc));
  for (const key of ['configMapGenerator', 'secretGenerator']) {
    const list = getIn(doc, [key]);
    if (!Array.isArray(list)) continue;
    for (const g of list) {
      // "key=path" or "path"
      for (const f of strings(getIn(g, ['files']))) out.push(f.includes('=') ? f.slice(f.indexOf('=') + 1) : f);
      out.push(...strings(getIn(g, ['envs'])));
      if (typeof getIn(g, ['env']) === 'string') out.push(getIn(g, ['env']) as string);
    }
  }
  // Remote bases (git, http) are outside the repository.
  return out.filter((r) => !r.includes('://') && !r.startsWith('git@') && !r.startsWith('github.com/'));
}

export function buildKustomizeBases(
  kustomizations: Iterable<[string, ManifestDoc[]]>,
  allPaths: ReadonlySet<string>,
): KustomizeBases {
  const graph = new ReachGraph();
  const patches = new Set<string>();
  const kustomizationIn = (dir: string) =>
    [...KUSTOMIZATION_NAMES].map((n) => (dir ? `${dir}/${n}` : n)).find((p) => allPaths.has(p));
  for (const [path, docs] of kustomizations) {
    const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    for (const doc of docs) {
      for (const ref of references(doc.value)) {
        const target = resolveRepoPath(dir, ref);
        if (target === undefined) continue;
        // A directory reference means that directory's kustomization.
        graph.addUse(path, allPaths.has(target) ? target : (kustomizationIn(target) ?? target));
      }
      for (const ref of patchPaths(doc.value)) {
        const target = resolveRepoPath(dir, ref);
        if (target !== undefined) patches.add(target);
      }
    }
  }
  return { graph, patches };
}
