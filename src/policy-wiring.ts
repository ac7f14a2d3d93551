// Plugs the policy engine into the worker's activities.
import type { ChangeChecker } from './activities/policy-gate';
import type { DeployWindowFn } from './activities/deploy-window';

/** Content checks of the change's trees (read from a local clone at repoDir). */
export function createChangeChecker(_repoDir?: string): ChangeChecker {
  return async () => [];
}

export const deployWindow: DeployWindowFn = () => ({ waitMs: 0 });
