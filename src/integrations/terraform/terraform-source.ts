// Where one environment's Terraform lives in the service's repository, as the policy names it.
// (The policy schema in src/policy/config/ defines the same shape; the integrator unifies them.)

export interface TerraformSource {
  /** The root module directory, relative to the repository root (e.g. "terraform/production"). */
  dir: string;
  /** OpenTofu workspace; "default" when absent. Created on first use. */
  workspace?: string;
  /** -var-file paths, relative to the repository root (like `dir`), read at the same commit. */
  varFiles?: string[];
}

/** One root at one commit, planned or applied with state kept in `stateDir`. */
export interface TerraformRootRequest extends TerraformSource {
  /** The worker's clone; only read by commit, its working tree and index are never touched. */
  repoDir: string;
  /** Commit (or any revision git resolves to one) whose files are planned. */
  commit: string;
  /**
   * Absolute directory that holds this root's state (terraform.tfstate, workspaces/<name>/…),
   * owned by Airlock, one per root and environment; it outlives every call.
   */
  stateDir: string;
  /**
   * Plan the destruction of everything in the root's state (`plan -destroy`), with the commit's
   * configuration: the rollback of a root the change created, which has no base commit to re-apply.
   */
  destroy?: boolean;
  /** Cancellation: tofu gets SIGINT (it releases its lock and writes state), then the call rejects. */
  signal?: AbortSignal;
}
