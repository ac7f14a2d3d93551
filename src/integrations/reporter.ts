// Reporters tell the world where a promotion stands (log, GitHub check run, Slack approval
// message). The workflow sends the whole state at every stage change: reports are idempotent
// "this is where it stands now", never "one more step", so a retried report is harmless.
import type { PromotionState } from '../workflows/messages';

export interface Reporter {
  readonly name: string;
  report(state: PromotionState): Promise<void>;
}
