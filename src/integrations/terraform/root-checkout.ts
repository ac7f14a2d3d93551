// A root's files at one commit, in a private temporary directory: the whole repository tree of the
// commit (roots reach `../modules/...`), written through a temporary index with read-tree and
// checkout-index, so the clone's working tree, index and HEAD are never touched and no
// .gitattributes export-ignore can drop a file (as `git archive` would).
// The backend override written into the root keeps its state in Airlock's stateDir.
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix } from 'node:path';
import { runGit } from '../../policy/engine/trees/git-tree';
import { TreeError } from '../../policy/engine/trees/tree-error';
import { TerraformConfigError } from './terraform-errors';
import type { TerraformRootRequest } from './terraform-source';

export const BACKEND_OVERRIDE_FILE = 'airlock_backend_override.tf';

export interface RootCheckout {
  /** Resolved commit SHA. */
  commit: string;
  /** Private scratch directory (plan files live here); removed by dispose(). */
  scratchDir: string;
  /** The root module directory inside the checkout (tofu's working directory). */
  rootDir: string;
  /** Absolute -var-file paths inside the checkout. */
  varFiles: string[];
  dispose(): Promise<void>;
}

/** "a/b/../c" → "a/c"; undefined when the path is absolute or leaves the repository. */
function repoRelative(path: string): string | undefined {
  if (isAbsolute(path) || path.includes('\0')) return undefined;
  const p = posix.normalize(path.replace(/\\/g, '/')).replace(/\/$/, '');
  return p === '..' || p.startsWith('../') ? undefined : p;
}

/**
 * The backend block that wins over whatever backend the root declares (an `_override.tf` file's
 * backend replaces the original one): local state at an absolute path Airlock owns, workspaces
 * beside it. `${`/`%{` are escaped because HCL strings are templates.
 */
export function backendOverride(stateDir: string): string {
  const hcl = (s: string) =>
    JSON.stringify(s)
      .replace(/\$\{/g, () => '$${')
      .replace(/%\{/g, '%%{');
  return [
    '# Written by Airlock: state lives in the directory the worker owns, whatever backend the repo declares.',
    'terraform {',
    '  backend "local" {',
    `    path          = ${hcl(join(stateDir, 'terraform.tfstate'))}`,
    `    workspace_dir = ${hcl(join(stateDir, 'workspaces'))}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function checkoutRoot(req: TerraformRootRequest): Promise<RootCheckout> {
  const fail = (detail: string, commit = req.commit) =>
    new TerraformConfigError('cannot read the root', { root: req.dir, commit, stage: 'checkout', detail });
  const dir = repoRelative(req.dir);
  if (dir === undefined || dir === '.') throw fail(`root dir "${req.dir}" must be a directory inside the repository`);
  const varFiles = (req.varFiles ?? []).map((f) => {
    const rel = repoRelative(f);
    if (rel === undefined) throw fail(`var file "${f}" must be a path inside the repository`);
    return rel;
  });
  if (!isAbsolute(req.stateDir)) throw fail(`stateDir "${req.stateDir}" must be an absolute path`);

  const git = async (args: string[], env?: NodeJS.ProcessEnv) => {
    try {
      return (await runGit(req.repoDir, args, undefined, env)).toString('utf8').trim();
    } catch (err) {
      throw err instanceof TreeError ? fail(err.message) : err;
    }
  };
  const commit = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${req.commit}^{commit}`]).catch(
    () => {
      throw fail(`no commit "${req.commit}" in ${req.repoDir}`);
    },
  );
  const kindAt = (path: string) => git(['cat-file', '-t', `${commit}:${path}`]).catch(() => 'missing');
  if ((await kindAt(dir)) !== 'tree') throw fail(`no directory ${dir} at commit ${commit.slice(0, 12)}`, commit);
  for (const f of varFiles) {
    if ((await kindAt(f)) !== 'blob')
      throw fail(`var file ${f} does not exist at commit ${commit.slice(0, 12)}`, commit);
  }

  const scratchDir = await mkdtemp(join(tmpdir(), 'airlock-tofu-'));
  const dispose = () => rm(scratchDir, { recursive: true, force: true });
  try {
    const treeDir = join(scratchDir, 'tree');
    const env = { GIT_INDEX_FILE: join(scratchDir, 'index') };
    await git(['read-tree', commit], env);
    await mkdir(treeDir);
    await git([`--work-tree=${treeDir}`, 'checkout-index', '--all', '--force'], env);
    const rootDir = join(treeDir, dir);
    const names = await readdir(rootDir);
    if (!names.some((n) => n.endsWith('.tf') || n.endsWith('.tf.json')))
      throw fail(`${dir} has no .tf or .tf.json files at commit ${commit.slice(0, 12)}: not a root module`, commit);
    if (names.includes(BACKEND_OVERRIDE_FILE))
      throw fail(`${dir}/${BACKEND_OVERRIDE_FILE} exists in the repository; Airlock writes that file itself`, commit);
    await writeFile(join(rootDir, BACKEND_OVERRIDE_FILE), backendOverride(req.stateDir));
    for (const f of varFiles) await access(join(treeDir, f));
    return { commit, scratchDir, rootDir, varFiles: varFiles.map((f) => join(treeDir, f)), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
