// The deploy target, as the workflow needs it. Every operation is idempotent and declarative:
// "version X on environment E", "restore exactly this snapshot", never "one more step".
import type { Environment } from '../workflows/messages';

export interface WorkloadState {
  version: string;
  replicas: number;
  /** The deployer's own record of the workload (a pod template for Kubernetes), restored verbatim. */
  template?: unknown;
}

/** The exact state of one service in one environment before Airlock touched it. */
export interface EnvironmentSnapshot {
  service: string;
  environment: Environment;
  stable: WorkloadState | null;
  canary: WorkloadState | null;
  capturedAt: string;
  deployer: string;
}

export interface DeployResult {
  readyAt: string;
  /** One line for the Temporal UI and the logs; a simulation says it is one. */
  summary: string;
}

export interface Deployer {
  /** e.g. "simulated", "kubernetes". */
  readonly kind: string;
  snapshot(service: string, environment: Environment): Promise<EnvironmentSnapshot>;
  /** Puts `version` on the whole of `environment` and waits until the rollout is ready. */
  deploy(req: { service: string; environment: Environment; version: string }): Promise<DeployResult>;
  /** Runs `version` beside the stable production version on `percent` of production. */
  deployCanary(req: { service: string; version: string; percent: number }): Promise<DeployResult>;
  /** Gives the stable production workload `version`, waits, then removes the canary. */
  promote(req: { service: string; version: string }): Promise<DeployResult>;
  /** Restores the snapshot exactly (canary included), and waits until ready. */
  restore(snapshot: EnvironmentSnapshot): Promise<DeployResult>;
}

/** Errors a deployer raises when retrying cannot help (401/403/404/422 and the like). */
export class DeployRejectedError extends Error {
  readonly nonRetryable = true;
}
