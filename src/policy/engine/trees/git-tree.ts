// A FileTree over one commit of a local git clone: `git ls-tree` lists it, `git cat-file --batch`
// reads many blobs in one process. Nothing is checked out, so a shared clone is never disturbed.
import { spawn } from 'node:child_process';
import type { FileTree, SpecialEntry } from '../change-files';
import { TreeError } from './tree-error';

/** Runs git in `repoDir`; rejects with a TreeError carrying git's stderr. `env` is added to the process's. */
export function runGit(repoDir: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', repoDir, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new TreeError(repoDir, `cannot run git: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(
          new TreeError(repoDir, `git ${args[0]} failed: ${Buffer.concat(err).toString().trim() || `exit ${code}`}`),
        );
    });
    if (input !== undefined) {
      // git may exit early (bad object); its exit code reports that, not the broken pipe.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

/** Parses `git cat-file --batch` output: "<id> <type> <size>\n<bytes>\n" per object. */
function parseBatch(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(10, at);
    const [id, type, size] = buf.subarray(at, nl).toString().split(' ');
    if (type === 'missing' || size === undefined) {
      at = nl + 1;
      continue;
    }
    const start = nl + 1;
    const end = start + Number(size);
    out.set(id, buf.subarray(start, end).toString('utf8'));
    at = end + 1;
  }
  return out;
}

export async function gitTree(repoDir: string, ref: string): Promise<FileTree> {
  const commit = (await runGit(repoDir, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]))
    .toString()
    .trim();
  // --long adds each blob's size, so a file over the limit is refused before a byte of it is read.
  const listing = (await runGit(repoDir, ['ls-tree', '-r', '-z', '--long', '--full-tree', commit])).toString('utf8');
  const blobs = new Map<string, string>();
  const sizes = new Map<string, number>();
  const specials: SpecialEntry[] = [];
  for (const entry of listing.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const path = entry.slice(tab + 1);
    const [mode, type, id, size] = entry.slice(0, tab).split(/ +/);
    // Links and submodules carry no content a rule could read; they are judged as what they are.
    if (mode === '120000') specials.push({ path, kind: 'symlink', id });
    else if (type === 'commit') specials.push({ path, kind: 'submodule', id });
    else if (type === 'blob') {
      blobs.set(path, id);
      sizes.set(path, Number(size));
    }
  }
  const paths = [...blobs.keys()].sort();
  return {
    paths: () => paths,
    contentId: (p) => blobs.get(p),
    size: (p) => sizes.get(p),
    specials: () => specials,
    async read(wanted) {
      const ids = wanted.map((p) => blobs.get(p)).filter((id): id is string => id !== undefined);
      if (!ids.length) return new Map();
      const byId = parseBatch(await runGit(repoDir, ['cat-file', '--batch'], ids.join('\n') + '\n'));
      const out = new Map<string, string>();
      for (const p of wanted) {
        const text = byId.get(blobs.get(p) ?? '');
        if (text !== undefined) out.set(p, text);
      }
      return out;
    },
  };
}
