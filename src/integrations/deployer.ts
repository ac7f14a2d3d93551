// The deploy target, as the workflow needs it. Every operation is idempotent and declarative:
// "version X on environment E", "restore exactly this snapshot", never "one more step".
import type { Environment, StagedImage } from '../workflows/messages';

export type { StagedImage };

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
  /**
   * After a deploy: each image reference it set and the digest its pods run (StagedImage). The
   * workflow hands staging's to the canary and the production rollout, which deploy those digests.
   */
  images?: StagedImage[];
}

/**
 * Per-call options. `signal` is the deploy activity's cancellation (Context.cancellationSignal).
 *
 * Once it aborts, a deployer stops at once: no new request, no retry, no further backoff or
 * rollout polling; it rejects with `signal.reason` (the activity's CancelledFailure), never with
 * a result or an error of its own. What an abort cannot undo: a write the target already received
 * (an apply whose request was sent) may still take effect. That is why the workflow restores the
 * snapshot after a cancelled deploy activity has ended, and why the activity ends only once the
 * deployer has returned (no request of it is still to be sent when the restore starts).
 */
export interface DeployCallOptions {
  signal?: AbortSignal;
}

/**
 * The merged change a deploy carries: deployers that render an environment from the repository
 * (kustomize, Helm, manifests, Terraform) read it at `commit` and compare with `baseCommit`;
 * image-tag deployers ignore it and deploy `version`.
 */
export interface ChangeRef {
  commit: string;
  baseCommit?: string;
}

/**
 * What a change will do to an environment, computed against live without changing it (server-side
 * dry-run, `tofu plan`): shown to approvers before they decide.
 */
export interface ChangePreview {
  environment: Environment;
  /** Unified diff of every object, then each Terraform plan. */
  text: string;
  /** sha256 over the object diff and the plans: the same change on the same live state, the same digest. */
  digest: string;
  /** What approvers should know beyond the diff, e.g. what the canary did not exercise. */
  notes: string[];
  /**
   * Set when production will refuse this change whatever the approvers decide (a Terraform plan
   * that destroys what the policy does not allow): the promotion stops instead of asking anyone.
   */
  refused?: string;
}

export interface Deployer {
  /** e.g. "simulated", "kubernetes". */
  readonly kind: string;
  /** Records everything `change` would touch in `environment` (the workload, for image-tag deployers). */
  snapshot(
    service: string,
    environment: Environment,
    options?: DeployCallOptions,
    change?: ChangeRef,
  ): Promise<EnvironmentSnapshot>;
  /** Puts `version` on the whole of `environment` and waits until the rollout is ready. */
  deploy(
    req: { service: string; environment: Environment; version: string; change?: ChangeRef },
    options?: DeployCallOptions,
  ): Promise<DeployResult>;
  /**
   * Runs `version` beside the stable production version on `percent` of production. `images`:
   * what ran in staging; an image reference with a digest there is deployed at that digest.
   */
  deployCanary(
    req: { service: string; version: string; percent: number; change?: ChangeRef; images?: StagedImage[] },
    options?: DeployCallOptions,
  ): Promise<DeployResult>;
  /** Gives the stable production workload `version` (at staging's digests), waits, then removes the canary. */
  promote(
    req: { service: string; version: string; change?: ChangeRef; images?: StagedImage[] },
    options?: DeployCallOptions,
  ): Promise<DeployResult>;
  /**
   * The diff `change` would apply to `environment` now (at staging's digests, `images`); absent
   * for deployers of image tags.
   */
  preview?(
    req: { service: string; environment: Environment; change: ChangeRef; images?: StagedImage[] },
    options?: DeployCallOptions,
  ): Promise<ChangePreview | undefined>;
  /** Restores the snapshot exactly (canary included), and waits until ready. */
  restore(snapshot: EnvironmentSnapshot, options?: DeployCallOptions): Promise<DeployResult>;
}

/** Errors a deployer raises when retrying cannot help (401/403/404/422 and the like). */
export class DeployRejectedError extends Error {
  readonly nonRetryable = true;
}
