// Both commits' trees of a change from a local clone, shared by the worker's gate and the server's
// pull request check: a commit newer than the clone's last fetch is fetched once from the clone's
// own remote (a `git clone --mirror` fetches every ref, refs/pull/* included), so the clone needs
// no fetch loop to keep up.
import type { ChangeTrees } from '../change-files';
import { gitTree, runGit } from './git-tree';
import { TreeError } from './tree-error';

export async function readTrees(repoDir: string, base: string, head: string): Promise<ChangeTrees> {
  const read = async () => ({ base: await gitTree(repoDir, base), head: await gitTree(repoDir, head) });
  try {
    return await read();
  } catch (missing) {
    if (!(missing instanceof TreeError)) throw missing;
    try {
      await runGit(repoDir, ['fetch', '--quiet']);
    } catch (err) {
      if (!(err instanceof TreeError)) throw err;
      throw new TreeError(repoDir, `${missing.reason}; fetching the clone did not help: ${err.reason}`);
    }
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof TreeError)) throw err;
      throw new TreeError(repoDir, `${err.reason} (also after fetching the clone from its remote)`);
    }
  }
}
