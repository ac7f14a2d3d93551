// A throwaway git repository holding a fixture's base and head as two commits.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FIXTURES } from './fixture-change';

export interface FixtureRepo {
  dir: string;
  base: string;
  head: string;
  remove(): void;
}

export function fixtureRepo(name: string): FixtureRepo {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', [
      '-C',
      dir,
      '-c',
      'user.name=test',
      '-c',
      'user.email=test@example.com',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ])
      .toString()
      .trim();
  git('init', '-q');
  const commitTree = (side: 'base' | 'head') => {
    for (const entry of readdirSync(dir)) if (entry !== '.git') rmSync(join(dir, entry), { recursive: true });
    cpSync(resolve(FIXTURES, name, side), dir, { recursive: true });
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', side);
    return git('rev-parse', 'HEAD');
  };
  const base = commitTree('base');
  const head = commitTree('head');
  return { dir, base, head, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
