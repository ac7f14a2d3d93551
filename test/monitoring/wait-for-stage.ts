// Waiting in real time (dev server) for a promotion to reach a stage; fails saying where it is.
import type { WorkflowHandle } from '@temporalio/client';
import type { Stage } from '../../src/workflows/messages';
import { state } from '../helpers/harness';

export async function waitForStage(h: WorkflowHandle, stage: Stage, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await state(h);
    if (s.stage === stage) return s;
    if (s.stage === 'ended')
      throw new Error(`ended ${s.outcome} before reaching ${stage}: ${JSON.stringify(s.interruption)}`);
    if (Date.now() > end) throw new Error(`stage ${stage} not reached in ${timeoutMs} ms (at ${s.stage})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
