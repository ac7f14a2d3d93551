// A throwaway git repository built from two file maps (base, head), for changes no fixture directory
// can hold: symbolic links, submodules (gitlinks) and files of a given size.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type Entry = string | { symlink: string } | { submodule: string };
export type Files = Record<string, Entry>;

export interface GitChange {
  dir: string;
  base: string;
  head: string;
  remove(): void;
}

export function gitChange(base: Files, head: Files): GitChange {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-change-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args])
      .toString()
      .trim();
  git('init', '-q');
  const commit = (files: Files, message: string) => {
    git('rm', '-rq', '--cached', '--ignore-unmatch', '.');
    for (const [path, entry] of Object.entries(files)) {
      if (typeof entry === 'object' && 'submodule' in entry) {
        // A gitlink: an index entry of mode 160000 naming another repository's commit.
        git('update-index', '--add', '--cacheinfo', `160000,${entry.submodule},${path}`);
        continue;
      }
      const full = join(dir, path);
      rmSync(full, { force: true });
      mkdirSync(dirname(full), { recursive: true });
      if (typeof entry === 'string') writeFileSync(full, entry);
      else symlinkSync(entry.symlink, full);
      git('add', '--', path);
    }
    git('commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  const baseCommit = commit(base, 'base');
  return {
    dir,
    base: baseCommit,
    head: commit(head, 'head'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
