// Rollback as a saga: a restore is recorded *before* each deploy (a deploy can half-apply and then
// fail; restoring the recorded snapshot is idempotent), and the plan runs newest first. It is the
// only record of what is deployed: a restore that failed leaves its environment listed. The plan is
// data (the snapshot per environment, in order), so a run that continues as new carries it over.
import { CancellationScope } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { Environment } from '../messages';

export type EnvironmentSnapshot = Awaited<ReturnType<Activities['snapshotEnvironment']>>;

/** One compensation: restore `environment` to the snapshot recorded before the change touched it. */
export interface RecordedRestore {
  label: string;
  environment: Environment;
  snapshot: EnvironmentSnapshot;
}

export interface RollbackReport {
  /** Every failed restore with its cause; undefined when all succeeded. */
  error?: string;
  /** Environments whose restore failed: the change may still be live there. */
  stillDeployed: Environment[];
}

export class RollbackPlan {
  private readonly restores: RecordedRestore[];

  /** `restore` runs one compensation; `recorded` is a plan carried over from an earlier run, oldest first. */
  constructor(
    private readonly restore: (r: RecordedRestore) => Promise<unknown>,
    recorded: readonly RecordedRestore[] = [],
  ) {
    this.restores = [...recorded];
  }

  push(r: RecordedRestore): void {
    this.restores.push(r);
  }

  /** A restore of `environment` is recorded: the snapshot from before the change first touched it. */
  has(environment: Environment): boolean {
    return this.restores.some((r) => r.environment === environment);
  }

  /**
   * Runs the compensations of `environments` only, newest first (a release train's restart takes the
   * canary out of production and keeps staging's). A restore that failed stays in the plan.
   */
  async runFor(environments: Environment[], onStep: (label: string) => void): Promise<RollbackReport> {
    const chosen = this.restores.filter((r) => environments.includes(r.environment));
    const kept = this.restores.filter((r) => !environments.includes(r.environment));
    const report = await this.runEach(chosen, onStep);
    this.restores.length = 0;
    this.restores.push(...kept, ...chosen.filter((r) => report.stillDeployed.includes(r.environment)));
    return report;
  }

  get isEmpty(): boolean {
    return this.restores.length === 0;
  }

  /** The plan as data, oldest first (what a continued run is given). */
  get recorded(): RecordedRestore[] {
    return [...this.restores];
  }

  /** Runs every compensation, newest first, even when the workflow is being cancelled. */
  async run(onStep: (label: string) => void): Promise<RollbackReport> {
    const report = await this.runEach(this.restores, onStep);
    this.restores.length = 0;
    return report;
  }

  private async runEach(restores: RecordedRestore[], onStep: (label: string) => void): Promise<RollbackReport> {
    const errors: string[] = [];
    const stillDeployed: Environment[] = [];
    for (const r of [...restores].reverse()) {
      onStep(r.label);
      try {
        await CancellationScope.nonCancellable(() => this.restore(r));
      } catch (err) {
        // An ActivityFailure says only "Activity task failed"; the reason (403, 5xx, ...) is its cause.
        const cause = (err as { cause?: Error }).cause;
        errors.push(`${r.label}: ${cause?.message ?? (err as Error).message}`);
        stillDeployed.push(r.environment);
      }
    }
    return { ...(errors.length ? { error: errors.join('; ') } : {}), stillDeployed };
  }
}
