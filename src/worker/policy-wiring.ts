// Plugs the policy engine into the worker's activities: the change's trees come from a local clone.
import type { ChangeChecker } from '../activities/gate';
import type { DeployWindowFn } from '../activities/deploy-window';
import { checkChange } from '../policy/engine/check-change';
import type { Finding } from '../policy/engine/finding';
import { deployWait } from '../policy/engine/planned-operations';
import { gitTree } from '../policy/engine/trees/git-tree';
import { TreeError } from '../policy/engine/trees/tree-error';

function skipped(why: string): Finding[] {
  // Never a silent allow: the approvers see that nobody read the change's content.
  return [
    {
      rule: 'content-checks-skipped',
      level: 'warn',
      message: `change-content checks were skipped: ${why}; approvers must review the diff themselves`,
    },
  ];
}

/** Content checks of the change's trees (read from a local clone at repoDir). */
export function createChangeChecker(repoDir?: string): ChangeChecker {
  return async (policy, change) => {
    if (!repoDir) return skipped('the worker has no repository clone (set AIRLOCK_REPO_DIR)');
    if (!change.baseCommit)
      return skipped(`change ${change.commit.slice(0, 12)} carries no baseCommit to compare with`);
    try {
      const trees = { base: await gitTree(repoDir, change.baseCommit), head: await gitTree(repoDir, change.commit) };
      return await checkChange(policy, trees, { service: change.service });
    } catch (err) {
      if (!(err instanceof TreeError)) throw err;
      // The gate fails closed: a change whose content cannot be read is not promoted.
      return [
        {
          rule: 'unreadable-change',
          level: 'block',
          message: `cannot read change ${change.commit.slice(0, 12)} (base ${change.baseCommit.slice(0, 12)}) from ${repoDir}: ${err.reason}. Fetch the commits into the clone and start the promotion again`,
        },
      ];
    }
  };
}

export const deployWindow: DeployWindowFn = (policy, service, environment, now) =>
  deployWait(policy.checks.plannedOperations, service, environment, now);
