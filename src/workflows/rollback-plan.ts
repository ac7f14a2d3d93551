// Rollback as a saga: a compensation is pushed *before* each deploy (a deploy can half-apply and
// then fail; restoring the recorded snapshot is idempotent), and the plan runs newest first.
import { CancellationScope } from '@temporalio/workflow';

interface Compensation {
  label: string;
  run: () => Promise<void>;
}

export class RollbackPlan {
  private readonly compensations: Compensation[] = [];

  push(label: string, run: () => Promise<void>): void {
    this.compensations.push({ label, run });
  }

  get isEmpty(): boolean {
    return this.compensations.length === 0;
  }

  /** Runs every compensation, newest first, even when the workflow is being cancelled. */
  async run(onStep: (label: string) => void): Promise<string | undefined> {
    const errors: string[] = [];
    for (const c of [...this.compensations].reverse()) {
      onStep(c.label);
      try {
        await CancellationScope.nonCancellable(c.run);
      } catch (err) {
        // An ActivityFailure says only "Activity task failed"; the reason (403, 5xx, ...) is its cause.
        const cause = (err as { cause?: Error }).cause;
        errors.push(`${c.label}: ${cause?.message ?? (err as Error).message}`);
      }
    }
    this.compensations.length = 0;
    return errors.length ? errors.join('; ') : undefined;
  }
}
