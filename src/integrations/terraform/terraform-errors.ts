// What a failed tofu run means for Airlock. Every message names the root (and the file and line when
// tofu points at one) and carries tofu's own words; `nonRetryable` says whether another attempt can help.

export type TerraformStage = 'checkout' | 'init' | 'workspace' | 'plan' | 'show' | 'apply';

export interface TerraformErrorDetails {
  /** The root directory, repository-relative. */
  root: string;
  commit: string;
  stage: TerraformStage;
  /** Repository-relative file of tofu's first diagnostic, when it names one. */
  file?: string;
  line?: number;
  /** tofu's stderr (or the reason), trimmed. */
  detail: string;
}

export abstract class TerraformError extends Error {
  abstract readonly nonRetryable: boolean;
  /** Readable failure kind for the Temporal UI. */
  abstract readonly type: string;
  readonly root: string;
  readonly commit: string;
  readonly stage: TerraformStage;
  readonly file?: string;
  readonly line?: number;
  readonly detail: string;

  constructor(summary: string, d: TerraformErrorDetails) {
    const where = d.file ? `${d.file}${d.line !== undefined ? `:${d.line}` : ''} (root ${d.root})` : `root ${d.root}`;
    super(`terraform: ${d.stage} of ${where} at ${d.commit.slice(0, 12)}: ${summary}\n${d.detail}`);
    this.name = new.target.name;
    this.root = d.root;
    this.commit = d.commit;
    this.stage = d.stage;
    this.detail = d.detail;
    if (d.file !== undefined) this.file = d.file;
    if (d.line !== undefined) this.line = d.line;
  }
}

/** Bad input or configuration: unknown commit, missing root, HCL that does not parse, a failing plan. */
export class TerraformConfigError extends TerraformError {
  readonly nonRetryable = true;
  readonly type = 'TerraformConfigError';
}

/** Another run holds the state lock past -lock-timeout: a later attempt will get it. */
export class TerraformLockError extends TerraformError {
  readonly nonRetryable = false;
  readonly type = 'TerraformStateLocked';
}

/**
 * Apply failed part-way (a provider or resource error). State records what was done; a later
 * attempt re-plans from there, so it is retried.
 */
export class TerraformApplyError extends TerraformError {
  readonly nonRetryable = false;
  readonly type = 'TerraformApplyFailed';
}

/** The plan about to be applied is not the plan the approvers saw (its digest differs). */
export class TerraformPlanChangedError extends TerraformError {
  readonly nonRetryable = true;
  readonly type = 'TerraformPlanChanged';
}
