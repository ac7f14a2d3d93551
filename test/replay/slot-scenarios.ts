// The blast-radius slot's histories kept as replay fixtures. The slot workflow never ends (it
// continues as new), so a change to it must replay the runs in flight when it is deployed: a holder
// alone (no holder checks before `compensate-ended-holders`), a queue behind it, a holder terminated
// and reaped.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { feed, state, untilStage, type Rig } from '../helpers/harness';
import { abortUpdate } from '../../src/workflows/messages';

export interface SlotScenario {
  name: string;
  /** Drives the promotions; returns the workflows whose histories are kept, by fixture name. */
  drive(env: TestWorkflowEnvironment, rig: Rig): Promise<Array<{ name: string; workflowId: string }>>;
}

async function until(h: WorkflowHandle, what: string, ok: (s: Awaited<ReturnType<typeof state>>) => boolean) {
  for (let i = 0; i < 400; i++) {
    if (ok(await state(h))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`slot scenario: ${what} never happened`);
}

export const SLOT_SCENARIOS: SlotScenario[] = [
  {
    name: 'slot-terminated-holder',
    async drive(env, rig) {
      const a = await rig.start({ service: 'search-service' });
      await feed(env, a, { stop: untilStage('baking'), stepMinutes: 1 });
      // A lone holder for 20 minutes (checked every 5 minutes from compensate-ended-holders on).
      const since = Date.parse((await state(a)).now);
      await feed(env, a, { stop: (s) => Date.parse(s.now) - since >= 20 * 60_000, stepMinutes: 5 });
      const b = await rig.start({ service: 'payment-service' });
      await until(b, 'b queued', (s) => s.queuePosition === 1);
      await a.terminate('operator pulled the plug');
      await feed(env, b, { stop: (s) => s.stage !== 'queued', stepMinutes: 2 });
      await b.executeUpdate(abortUpdate, { args: [{ by: 'bob', reason: 'end of recording' }] });
      await b.result();
      return [
        { name: 'slot-terminated-holder', workflowId: rig.slotWorkflowId },
        { name: 'compensation-terminated-in-bake', workflowId: `compensate-${a.workflowId}` },
      ];
    },
  },
];
