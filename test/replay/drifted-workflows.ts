// A deliberately incompatible edit of the promotion workflow (a timer before the first command),
// the kind of change that breaks promotions in flight. The replay test must catch it.
import * as wf from '@temporalio/workflow';
import { promotion as current } from '../../src/workflows/promotion';
import type { PromotionInput, PromotionResult } from '../../src/workflows/messages';

export { blastRadius } from '../../src/workflows/blast-radius';

export async function promotion(input: PromotionInput): Promise<PromotionResult> {
  await wf.sleep('1 second');
  return current(input);
}
