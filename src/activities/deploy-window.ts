// Planned operations: how long a deploy of a service to an environment must wait for a freeze
// window to end. The policy engine computes it; this activity gives the workflow a recorded answer.
import type { LoadedPolicy } from '../policy/config/load';
import type { Policy } from '../policy/config/schema';
import type { Environment } from '../workflows/messages';

export type DeployWindowFn = (
  policy: Policy,
  service: string,
  environment: Environment,
  now: Date,
) => { waitMs: number; reason?: string };

export function createDeployWindowActivity(loadPolicy: () => LoadedPolicy, window: DeployWindowFn) {
  return async function deployWaitMs(
    service: string,
    environment: Environment,
  ): Promise<{ waitMs: number; reason?: string }> {
    return window(loadPolicy().policy, service, environment, new Date());
  };
}
