// Deploy activities: thin, idempotent wrappers over the injected Deployer. A deployer error that
// retrying cannot fix (it says so with `nonRetryable`) becomes a non-retryable failure.
//
// Cancellation (the workflow cancels a deploy activity with WAIT_CANCELLATION_COMPLETED when a
// promotion is stopped, and restores only once the activity has ended): the activity learns of it
// through its heartbeats, its Context.cancellationSignal aborts, and that signal is handed to the
// deployer, which stops at once (no further request, retry or rollout wait). The activity then ends
// with the SDK's own CancelledFailure: never a result, never a DeployFailed (which would be
// retried). It ends only when the deployer call has returned, so nothing of it is still to be sent
// when the workflow's restore starts.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { setMaxListeners } from 'node:events';
import { Context, log } from '@temporalio/activity';
import { FailureType } from '../common/failure-types';
import type { Environment } from '../workflows/messages';
import {
  DeployRejectedError,
  type ChangePreview,
  type ChangeRef,
  type DeployCallOptions,
  type Deployer,
  type DeployResult,
  type EnvironmentSnapshot,
  type StagedImage,
} from '../integrations/deployer';

export { DeployRejectedError };

/** How often a deploy activity tells the server it is alive while it waits for a rollout. */
export const DEPLOY_HEARTBEAT_MS = 2_000;

/** The activity's cancellation as the error to end with: the SDK's own CancelledFailure. */
function cancellation(signal: AbortSignal, what: string, err?: unknown): CancelledFailure {
  if (signal.reason instanceof CancelledFailure) return signal.reason;
  return new CancelledFailure(`${what}: cancelled`, [], err instanceof Error ? err : undefined);
}

/** Requests a deployer sends at once (apply batches of 8, one list per kind): each listens to the signal. */
const MAX_REQUESTS_IN_FLIGHT = 64;

async function guarded<T>(what: string, fn: (options: DeployCallOptions) => Promise<T>): Promise<T> {
  // Heartbeats let the server notice a worker that died mid-rollout within the heartbeat timeout
  // and retry on another worker, instead of waiting out the 20-minute start-to-close timeout; and
  // they are how a cancellation reaches the activity (the answer to a heartbeat carries it).
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  // One listener per request in flight: a 50-object apply holds more than Node's default of 10 at
  // once, which is concurrency, not a leak (each is removed when its request settles).
  setMaxListeners(MAX_REQUESTS_IN_FLIGHT, signal);
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), DEPLOY_HEARTBEAT_MS);
  try {
    const result = await fn({ signal });
    // Cancelled as the deployer returned: the workflow has stopped the promotion and restores, so
    // the activity reports cancellation (what it did is undone by the restore), not success.
    if (signal.aborted) throw cancellation(signal, what);
    return result;
  } catch (err) {
    if (signal.aborted) {
      log.info(`${what}: stopped by cancellation (${(signal.reason as Error)?.message ?? 'cancelled'})`);
      throw cancellation(signal, what, err);
    }
    // Errors of the integrations say themselves whether another attempt can help (a Terraform
    // plan that does not parse, a render error): those end the activity at once.
    if (err instanceof DeployRejectedError || (err as { nonRetryable?: unknown } | null)?.nonRetryable === true) {
      throw ApplicationFailure.create({
        type: FailureType.DeployRejected,
        message: `${what}: ${(err as Error).message}`,
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
    async snapshotEnvironment(
      service: string,
      environment: Environment,
      change?: ChangeRef,
    ): Promise<EnvironmentSnapshot> {
      return guarded(`snapshot ${service} in ${environment}`, (o) =>
        deployer.snapshot(service, environment, o, change),
      );
    },
    async deployToEnvironment(req: {
      service: string;
      environment: Environment;
      version: string;
      change?: ChangeRef;
    }): Promise<DeployResult> {
      return logged(
        await guarded(`deploy ${req.service} ${req.version} to ${req.environment}`, (o) => deployer.deploy(req, o)),
      );
    },
    async deployCanary(req: {
      service: string;
      version: string;
      percent: number;
      change?: ChangeRef;
      images?: StagedImage[];
    }): Promise<DeployResult> {
      return logged(
        await guarded(`canary ${req.service} ${req.version} at ${req.percent}%`, (o) => deployer.deployCanary(req, o)),
      );
    },
    async promoteCanary(req: {
      service: string;
      version: string;
      change?: ChangeRef;
      images?: StagedImage[];
    }): Promise<DeployResult> {
      return logged(
        await guarded(`promote ${req.service} ${req.version} to all of production`, (o) => deployer.promote(req, o)),
      );
    },
    async previewChange(req: {
      service: string;
      environment: Environment;
      change: ChangeRef;
      images?: StagedImage[];
    }): Promise<ChangePreview | null> {
      if (!deployer.preview) return null;
      return (await guarded(`preview ${req.service} in ${req.environment}`, (o) => deployer.preview!(req, o))) ?? null;
    },
    async restoreEnvironment(snapshot: EnvironmentSnapshot): Promise<DeployResult> {
      return logged(
        await guarded(`restore ${snapshot.service} in ${snapshot.environment}`, (o) => deployer.restore(snapshot, o)),
      );
    },
  };
}
