// Which files of a change an environment's render reads: the tools name only each object's origin
// (kustomize's origin annotation: the base resource; Helm's `# Source:`: the template), not the
// values file, patch or `replicas:` field that changed it. The repo says the rest: a Helm render
// reads its chart and values files, a manifests render its directory, and a kustomize render every
// file its kustomization reaches (resources, patches, generators, bases; the reach graph).
import { posix } from 'node:path';
import type { KubernetesSource } from '../config/environment-source-schema';
import type { ChangeTrees } from './change-files';
import { buildKustomizeBases, isKustomizationPath } from './kustomize-bases';
import { parseManifestFile, type ManifestDoc } from './manifest';

const under = (dir: string, path: string) => dir === '.' || path.startsWith(`${dir}/`);

async function kustomizations(trees: ChangeTrees): Promise<{ docs: [string, ManifestDoc[]][]; paths: Set<string> }> {
  const docs: [string, ManifestDoc[]][] = [];
  const paths = new Set<string>();
  for (const tree of [trees.base, trees.head]) {
    const all = tree.paths();
    for (const p of all) paths.add(p);
    for (const [path, text] of await tree.read(all.filter(isKustomizationPath))) {
      const parsed = parseManifestFile(path, text);
      if (parsed.ok) docs.push([path, parsed.docs]);
    }
  }
  return { docs, paths };
}

/** The changed paths that `source`'s render reads at base or head, in the order given. */
export async function changedRenderInputs(
  source: KubernetesSource,
  changed: readonly string[],
  trees: ChangeTrees,
): Promise<string[]> {
  if ('image' in source) return [];
  if ('manifests' in source) return changed.filter((p) => posix.dirname(p) === source.manifests);
  if ('helm' in source) return changed.filter((p) => under(source.helm.chart, p) || source.helm.values.includes(p));
  const { docs, paths } = await kustomizations(trees);
  const { graph } = buildKustomizeBases(docs, paths);
  const roots = new Set(
    ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((n) => posix.join(source.kustomize, n)),
  );
  return changed.filter((p) => roots.has(p) || graph.usersOf(p).some((u) => roots.has(u.node)));
}
