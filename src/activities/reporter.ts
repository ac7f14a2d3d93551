// Reporters tell the world where a promotion stands (log, GitHub check run, Slack approval
// message). The workflow sends the whole state at every stage change: reports are idempotent
// "this is where it stands now", never "one more step", so a retried report is harmless.
import type { PromotionState } from '../workflows/messages';

export interface Reporter {
  readonly name: string;
  report(state: PromotionState): Promise<void>;
}

export function createReportActivity(reporters: Reporter[]) {
  return async function reportStage(state: PromotionState): Promise<{ reported: string[] }> {
    // Every reporter gets its turn; one failing reporter fails the attempt so Temporal retries it.
    const results = await Promise.allSettled(reporters.map((r) => r.report(state)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${reporters[i].name}: ${String(r.reason)}`] : []));
    if (failed.length) throw new Error(`reporters failed: ${failed.join('; ')}`);
    return { reported: reporters.map((r) => r.name) };
  };
}
