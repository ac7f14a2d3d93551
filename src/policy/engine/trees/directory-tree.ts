// A FileTree over a directory on disk (the CLI's --base / --head).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { FileTree, SpecialEntry } from '../change-files';
import { TreeError } from './tree-error';

// Never part of a change's content: VCS metadata and installed dependencies.
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
const CHUNK_BYTES = 64 * 1024;

function fail(path: string, what: string, err: unknown): TreeError {
  return new TreeError(path, `${what}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
}

/** A file's content hash, read in fixed chunks: an unchanged large file is recognised without holding it whole. */
function hashFile(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(CHUNK_BYTES);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function directoryTree(root: string): FileTree {
  let stat;
  try {
    stat = statSync(root);
  } catch (err) {
    throw fail(root, 'cannot read directory', err);
  }
  if (!stat.isDirectory()) throw new TreeError(root, 'is not a directory');
  const paths: string[] = [];
  const specials: SpecialEntry[] = [];
  const rel = (full: string) => relative(root, full).split(sep).join('/');
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    // A directory below the root with its own .git is another repository (a submodule's checkout).
    if (dir !== root && entries.some((e) => e.name === '.git')) {
      specials.push({ path: rel(dir), kind: 'submodule', id: 'nested repository' });
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isSymbolicLink()) specials.push({ path: rel(full), kind: 'symlink', id: readlinkSync(full) });
      else if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile()) paths.push(rel(full));
    }
  };
  walk(root);
  paths.sort();
  const ids = new Map<string, string>();
  return {
    paths: () => paths,
    contentId(p) {
      if (!ids.has(p)) {
        try {
          ids.set(p, hashFile(join(root, p)));
        } catch (err) {
          throw fail(join(root, p), 'cannot read file', err);
        }
      }
      return ids.get(p);
    },
    size(p) {
      try {
        return statSync(join(root, p)).size;
      } catch (err) {
        throw fail(join(root, p), 'cannot read file', err);
      }
    },
    specials: () => specials,
    async read(wanted) {
      const out = new Map<string, string>();
      for (const p of wanted) {
        try {
          out.set(p, readFileSync(join(root, p), 'utf8'));
        } catch (err) {
          throw fail(join(root, p), 'cannot read file', err);
        }
      }
      return out;
    },
  };
}
