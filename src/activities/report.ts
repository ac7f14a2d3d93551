// The report activity: the whole state, to every configured reporter (src/integrations/reporter.ts).
import type { PromotionState } from '../workflows/messages';
import type { Reporter } from '../integrations/reporter';

export type { Reporter };

export function createReportActivity(reporters: Reporter[]) {
  return async function reportStage(state: PromotionState): Promise<{ reported: string[] }> {
    // Every reporter gets its turn; one failing reporter fails the attempt so Temporal retries it.
    const results = await Promise.allSettled(reporters.map((r) => r.report(state)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${reporters[i].name}: ${String(r.reason)}`] : [],
    );
    if (failed.length) throw new Error(`reporters failed: ${failed.join('; ')}`);
    return { reported: reporters.map((r) => r.name) };
  };
}
