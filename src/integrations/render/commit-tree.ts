// The repo's files at one commit, in a private temporary directory, without touching the clone:
// `git read-tree` into a private index file (GIT_INDEX_FILE) and `git checkout-index` into the
// temporary work tree. The clone's HEAD, index and working tree are never written, so renders of
// any commit may run beside each other and beside whatever else uses the clone. Unlike
// `git archive`, this ignores export-ignore / export-subst: the tools see the files as committed.
import { mkdir, mkdtemp, readlink, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { RenderError } from './render-error';
import { runTool, type ToolRun } from './run-tool';

/** The commit is not in the clone (not fetched yet, or a wrong id): fetching may fix it, so it is retryable. */
export class CommitNotFoundError extends Error {
  override readonly name = 'CommitNotFoundError';
}

function gitEnv(indexFile?: string): NodeJS.ProcessEnv {
  // An inherited GIT_DIR / GIT_WORK_TREE (a hook, a test runner inside a repo) would point git elsewhere.
  const { GIT_DIR: _d, GIT_WORK_TREE: _w, GIT_INDEX_FILE: _i, ...env } = process.env;
  return indexFile ? { ...env, GIT_INDEX_FILE: indexFile } : env;
}

async function git(repoDir: string, args: string[], signal?: AbortSignal, indexFile?: string): Promise<ToolRun> {
  const run = await runTool('git', ['-C', repoDir, ...args], { cwd: repoDir, env: gitEnv(indexFile), signal });
  if (run.code !== 0) throw new RenderError('git', args.join(' '), run.stderr.trim() || `exit ${run.code}`);
  return run;
}

/** The full id of `commit` in the clone at `repoDir`. */
async function resolveCommit(repoDir: string, commit: string, signal?: AbortSignal): Promise<string> {
  if (!/^[0-9A-Za-z][0-9A-Za-z._/-]*$/.test(commit)) {
    throw new CommitNotFoundError(`render: git: "${commit}" is not a commit id`);
  }
  const run = await runTool('git', ['-C', repoDir, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`], {
    cwd: repoDir,
    env: gitEnv(),
    signal,
  });
  if (run.code !== 0) throw new CommitNotFoundError(`render: git: commit ${commit} is not in the clone at ${repoDir}`);
  return run.stdout.trim();
}

/** Refuses a committed symlink that points outside the tree: a tool would read a file of the worker's host. */
async function refuseEscapingSymlinks(repoDir: string, sha: string, root: string, signal?: AbortSignal) {
  const listing = await git(repoDir, ['ls-tree', '-r', '-z', sha], signal);
  const realRoot = await realpath(root);
  for (const entry of listing.stdout.split('\0')) {
    const match = /^120000 blob [0-9a-f]+\t(.+)$/s.exec(entry);
    if (!match) continue;
    const link = join(root, match[1]);
    const target = resolve(await realpath(dirname(link)).catch(() => dirname(link)), await readlink(link));
    const inside = relative(realRoot, target);
    if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      throw new RenderError('git', match[1], `is a symlink to ${await readlink(link)}, outside the repo`);
    }
  }
}

/**
 * Runs `fn` with the path of a private copy of the tree of `commit` (from the clone at `repoDir`),
 * then removes the copy, whatever `fn` did.
 */
export async function withCommitTree<T>(
  repoDir: string,
  commit: string,
  fn: (root: string, sha: string) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const sha = await resolveCommit(repoDir, commit, signal);
  const scratch = await mkdtemp(join(tmpdir(), 'airlock-render-'));
  try {
    const index = join(scratch, 'index');
    const root = join(scratch, 'tree');
    await mkdir(root);
    await git(repoDir, ['read-tree', sha], signal, index);
    await git(repoDir, [`--work-tree=${root}`, 'checkout-index', '--all', '--force'], signal, index);
    await refuseEscapingSymlinks(repoDir, sha, root, signal);
    return await fn(root, sha);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
