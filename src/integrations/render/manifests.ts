// A plain manifests directory: every *.yaml, *.yml and *.json file directly in it (not its
// subdirectories, as `kubectl apply -f <dir>` without -R), in name order, read as committed.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parseDocuments, toKubernetesObjects } from './manifest-documents';
import type { RenderedObject } from './rendered-object';
import { RenderError } from './render-error';
import { requireInTree } from './tree-paths';

const MANIFEST = /\.(ya?ml|json)$/i;

function parseFile(text: string, file: string): unknown[] {
  if (!file.toLowerCase().endsWith('.json')) return parseDocuments(text, 'manifests', file);
  try {
    return [JSON.parse(text)];
  } catch (err) {
    throw new RenderError('manifests', file, `invalid JSON: ${(err as Error).message}`);
  }
}

export async function renderManifests(dir: string, tree: { root: string; sha: string }): Promise<RenderedObject[]> {
  const { root, sha } = tree;
  await requireInTree(root, dir, 'directory', 'manifests', sha);
  const files: string[] = [];
  // stat, not the directory entry: a committed symlink to a file in the repo counts as that file.
  for (const name of (await readdir(join(root, dir))).sort()) {
    if (MANIFEST.test(name) && (await stat(join(root, dir, name))).isFile()) files.push(name);
  }
  // An empty render would ask for every object of the service to be pruned: refuse instead.
  if (files.length === 0) {
    throw new RenderError('manifests', dir, `has no *.yaml, *.yml or *.json files at commit ${sha.slice(0, 12)}`);
  }
  const rendered: RenderedObject[] = [];
  for (const name of files) {
    const file = posix.join(dir, name);
    const text = await readFile(join(root, file), 'utf8');
    for (const object of toKubernetesObjects(parseFile(text, file), 'manifests', file)) {
      rendered.push({ object, source: file });
    }
  }
  return rendered;
}
