// Deploy activities: thin, idempotent wrappers over the injected Deployer. A deployer error that
// retrying cannot fix (it says so with `nonRetryable`) becomes a non-retryable failure.
import { ApplicationFailure } from '@temporalio/common';
import { Context, log } from '@temporalio/activity';
import { FailureType } from '../common/failure-types';
import type { Environment } from '../workflows/messages';
import {
  DeployRejectedError,
  type Deployer,
  type DeployResult,
  type EnvironmentSnapshot,
} from '../integrations/deployer';

export { DeployRejectedError };

/** How often a deploy activity tells the server it is alive while it waits for a rollout. */
export const DEPLOY_HEARTBEAT_MS = 2_000;

async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  // Heartbeats let the server notice a worker that died mid-rollout within the heartbeat timeout
  // and retry on another worker, instead of waiting out the 20-minute start-to-close timeout.
  const ctx = Context.current();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), DEPLOY_HEARTBEAT_MS);
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DeployRejectedError) {
      throw ApplicationFailure.create({
        type: FailureType.DeployRejected,
        message: `${what}: ${err.message}`,
        nonRetryable: true,
      });
    }
    throw ApplicationFailure.create({
      type: FailureType.DeployFailed,
      message: `${what}: ${(err as Error).message}`,
      cause: err as Error,
    });
  } finally {
    clearInterval(beat);
  }
}

function logged(result: DeployResult): DeployResult {
  log.info(result.summary);
  return result;
}

export function createDeployActivities(deployer: Deployer) {
  return {
    async snapshotEnvironment(service: string, environment: Environment): Promise<EnvironmentSnapshot> {
      return guarded(`snapshot ${service} in ${environment}`, () => deployer.snapshot(service, environment));
    },
    async deployToEnvironment(req: {
      service: string;
      environment: Environment;
      version: string;
    }): Promise<DeployResult> {
      return logged(
        await guarded(`deploy ${req.service} ${req.version} to ${req.environment}`, () => deployer.deploy(req)),
      );
    },
    async deployCanary(req: { service: string; version: string; percent: number }): Promise<DeployResult> {
      return logged(
        await guarded(`canary ${req.service} ${req.version} at ${req.percent}%`, () => deployer.deployCanary(req)),
      );
    },
    async promoteCanary(req: { service: string; version: string }): Promise<DeployResult> {
      return logged(
        await guarded(`promote ${req.service} ${req.version} to all of production`, () => deployer.promote(req)),
      );
    },
    async restoreEnvironment(snapshot: EnvironmentSnapshot): Promise<DeployResult> {
      return logged(
        await guarded(`restore ${snapshot.service} in ${snapshot.environment}`, () => deployer.restore(snapshot)),
      );
    },
  };
}
