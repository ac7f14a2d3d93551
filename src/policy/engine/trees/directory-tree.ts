// A FileTree over a directory on disk (the CLI's --base / --head).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { FileTree } from '../change-files';
import { TreeError } from './tree-error';

// Never part of a change's content: VCS metadata and installed dependencies.
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

export function directoryTree(root: string): FileTree {
  let stat;
  try {
    stat = statSync(root);
  } catch (err) {
    throw new TreeError(root, `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!stat.isDirectory()) throw new TreeError(root, 'is not a directory');
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile()) paths.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  paths.sort();
  return {
    paths: () => paths,
    async read(wanted) {
      const out = new Map<string, string>();
      for (const p of wanted) {
        try {
          out.set(p, readFileSync(join(root, p), 'utf8'));
        } catch (err) {
          throw new TreeError(join(root, p), `cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
      }
      return out;
    },
  };
}
