// Rollback as a saga: a compensation is pushed *before* each deploy (a deploy can half-apply and
// then fail; restoring the recorded snapshot is idempotent), and the plan runs newest first. It is
// the only record of what is deployed: a restore that failed leaves its environment listed.
import { CancellationScope } from '@temporalio/workflow';
import type { Environment } from '../messages';

interface Compensation {
  label: string;
  environment: Environment;
  run: () => Promise<void>;
}

export interface RollbackReport {
  /** Every failed restore with its cause; undefined when all succeeded. */
  error?: string;
  /** Environments whose restore failed: the change may still be live there. */
  stillDeployed: Environment[];
}

export class RollbackPlan {
  private readonly compensations: Compensation[] = [];

  push(label: string, environment: Environment, run: () => Promise<void>): void {
    this.compensations.push({ label, environment, run });
  }

  get isEmpty(): boolean {
    return this.compensations.length === 0;
  }

  /** Runs every compensation, newest first, even when the workflow is being cancelled. */
  async run(onStep: (label: string) => void): Promise<RollbackReport> {
    const errors: string[] = [];
    const stillDeployed: Environment[] = [];
    for (const c of [...this.compensations].reverse()) {
      onStep(c.label);
      try {
        await CancellationScope.nonCancellable(c.run);
      } catch (err) {
        // An ActivityFailure says only "Activity task failed"; the reason (403, 5xx, ...) is its cause.
        const cause = (err as { cause?: Error }).cause;
        errors.push(`${c.label}: ${cause?.message ?? (err as Error).message}`);
        stillDeployed.push(c.environment);
      }
    }
    this.compensations.length = 0;
    return { ...(errors.length ? { error: errors.join('; ') } : {}), stillDeployed };
  }
}
