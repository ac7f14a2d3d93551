// renderKubernetes: the objects an environment should have at a commit, rendered from the worker's
// clone with the real tool of the source (kustomize, Helm, or the manifest files as they are).
// Nothing is applied here; the integrator applies, diffs and snapshots what this returns.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesSource } from '../../policy/config/environment-source-schema';
import { withCommitTree } from './commit-tree';
import { renderHelm } from './helm';
import { renderKustomize } from './kustomize';
import { renderManifests } from './manifests';
import { objectScope, type ScopeLookup } from './object-scope';
import { objectIdentity, type RenderedObject } from './rendered-object';
import { RenderError } from './render-error';
import { renderToolPath } from './render-tools';

export interface RenderOptions {
  /** The worker's clone; read by commit, never checked out or otherwise written. */
  repoDir: string;
  /** The commit to render (full or abbreviated id, or a ref the clone resolves). */
  commit: string;
  /** The environment's namespace: Helm's --namespace, and filled into namespaced objects that have none. */
  namespace: string;
  /** Aborts the render: the running tool is killed, the temporary tree removed, the promise rejects with the reason. */
  signal?: AbortSignal;
  /** Scope of kinds the built-in table does not know (custom resources), e.g. from API discovery. */
  scope?: ScopeLookup;
  /** Executables; default renderToolPath (AIRLOCK_KUSTOMIZE / AIRLOCK_HELM, .tools/bin, PATH). */
  tools?: { kustomize?: string; helm?: string };
  /**
   * For a change's base commit: a source directory the commit does not have renders nothing (the
   * change adds the service). A head without it is still an error, naming the path.
   */
  absentIsEmpty?: boolean;
}

/** The directory a source renders from: the kustomization, the chart, the manifests. */
function sourceRoot(source: Exclude<KubernetesSource, { image: unknown }>): string {
  return 'kustomize' in source ? source.kustomize : 'helm' in source ? source.helm.chart : source.manifests;
}

function toolOf(source: KubernetesSource): string {
  return 'kustomize' in source ? 'kustomize' : 'helm' in source ? 'helm' : 'manifests';
}

/** Fills in the namespace of namespaced objects that have none and refuses two objects with one identity. */
function finish(rendered: RenderedObject[], source: KubernetesSource, opts: RenderOptions): RenderedObject[] {
  const seen = new Map<string, string>();
  for (const r of rendered) {
    const { apiVersion, kind, metadata } = r.object;
    // Cluster-scoped kinds keep what they have: the integrator refuses those the policy does not allow.
    if (!metadata.namespace && objectScope(apiVersion, kind, opts.scope) === 'Namespaced') {
      metadata.namespace = opts.namespace;
    }
    const id = objectIdentity(r.object);
    const first = seen.get(id);
    if (first !== undefined) {
      throw new RenderError(toolOf(source), r.source, `renders ${id} a second time (first from ${first})`);
    }
    seen.set(id, r.source);
  }
  return rendered;
}

export async function renderKubernetes(source: KubernetesSource, opts: RenderOptions): Promise<RenderedObject[]> {
  if ('image' in source) {
    // Image-tag mode renders nothing from the repo; an empty render here would read as "prune all".
    throw new Error('render: image-tag mode has no render; the deployer sets the images of the live workloads');
  }
  return withCommitTree(
    opts.repoDir,
    opts.commit,
    async (root, sha) => {
      const tree = { root, sha, signal: opts.signal };
      if (opts.absentIsEmpty && !(await stat(join(root, sourceRoot(source))).catch(() => undefined))) return [];
      let rendered: RenderedObject[];
      if ('kustomize' in source) {
        const executable = opts.tools?.kustomize ?? renderToolPath('kustomize');
        rendered = await renderKustomize(source.kustomize, { ...tree, executable });
      } else if ('helm' in source) {
        const executable = opts.tools?.helm ?? renderToolPath('helm');
        rendered = await renderHelm(source.helm, opts.namespace, { ...tree, executable });
      } else {
        rendered = await renderManifests(source.manifests, tree);
      }
      // Aborted while files were being read: a cancelled render returns nothing, as the tools' do.
      opts.signal?.throwIfAborted();
      return finish(rendered, source, opts);
    },
    opts.signal,
  );
}
