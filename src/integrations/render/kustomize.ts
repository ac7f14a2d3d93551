// `kustomize build ./<dir>` of the commit's tree (./ so that no directory name reads as an option).
// To learn which file each object came from, the kustomization (in the private copy only) gets
// `buildMetadata: [originAnnotations]`; the annotation is removed again unless the repo asked for it.
import { readFile, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { parseDocuments, toKubernetesObjects } from './manifest-documents';
import type { RenderedObject } from './rendered-object';
import { RenderError } from './render-error';
import { runRenderTool } from './render-tools';
import { requireInTree } from './tree-paths';

const ORIGIN = 'config.kubernetes.io/origin';
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Adds originAnnotations to the kustomization in `dir`; false when it was there already (or no file: kustomize says so). */
async function requestOrigins(root: string, dir: string): Promise<boolean> {
  for (const name of KUSTOMIZATION_FILES) {
    const file = join(root, dir, name);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const doc = parseDocument(text);
    if (doc.errors.length)
      throw new RenderError('kustomize', posix.join(dir, name), doc.errors[0].message.split('\n')[0]);
    const current: unknown = (doc.toJS() as { buildMetadata?: unknown } | null)?.buildMetadata;
    if (current === undefined) doc.set('buildMetadata', ['originAnnotations']);
    else if (Array.isArray(current) && !current.includes('originAnnotations'))
      doc.addIn(['buildMetadata'], 'originAnnotations');
    else return false; // asked for by the repo itself (or malformed: kustomize will say so)
    await writeFile(file, doc.toString());
    return true;
  }
  return false;
}

/** The repo-relative file an origin annotation points at (relative to the built directory). */
function sourceOf(origin: string | undefined, dir: string): string {
  if (!origin) return dir;
  const o = (parse(origin) ?? {}) as { path?: string; configuredIn?: string; repo?: string };
  if (o.repo) return `${o.repo}${o.path ? `//${o.path}` : ''}`;
  const rel = o.path ?? o.configuredIn;
  return rel ? posix.normalize(posix.join(dir, rel)) : dir;
}

export async function renderKustomize(
  dir: string,
  tree: { root: string; sha: string; executable: string; signal?: AbortSignal },
): Promise<RenderedObject[]> {
  const { root, sha, executable, signal } = tree;
  await requireInTree(root, dir, 'directory', 'kustomize', sha);
  const added = await requestOrigins(root, dir);
  const stdout = await runRenderTool('kustomize', executable, ['build', `./${dir}`], { cwd: root, path: dir, signal });
  const objects = toKubernetesObjects(parseDocuments(stdout, 'kustomize', dir), 'kustomize', dir);
  return objects.map((object) => {
    const annotations = object.metadata.annotations;
    const source = sourceOf(annotations?.[ORIGIN], dir);
    if (added && annotations) {
      delete annotations[ORIGIN];
      if (Object.keys(annotations).length === 0) delete object.metadata.annotations;
    }
    return { object, source };
  });
}
