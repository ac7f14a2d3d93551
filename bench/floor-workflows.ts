// The floors: the least Temporal work each measured path could possibly do, bundled by the bench's
// floor worker and run on the same server, in the same run, as the promotions they are compared with.
import * as wf from '@temporalio/workflow';

export interface FloorActivities {
  noop(): Promise<void>;
}

// The same activity options as a promotion's deploys: start latency does not depend on them.
const { noop } = wf.proxyActivities<FloorActivities>({ startToCloseTimeout: '1 minute' });

export const goSignal = wf.defineSignal('go');
export const approveFloorUpdate = wf.defineUpdate<number, [unknown]>('approve');

/** Breach floor: wait for a signal, then run one activity. */
export async function signalThenActivity(): Promise<void> {
  let go = false;
  wf.setHandler(goSignal, () => void (go = true));
  await wf.condition(() => go);
  await noop();
}

/** Approval floor: wait for `required` updates, then run one activity. */
export async function updatesThenActivity(required: number): Promise<void> {
  let approvals = 0;
  wf.setHandler(approveFloorUpdate, () => ++approvals);
  await wf.condition(() => approvals >= required);
  await noop();
  await wf.condition(wf.allHandlersFinished);
}

/** Merge floor: started (by a webhook), run one activity. */
export async function activityOnStart(): Promise<void> {
  await noop();
}

/** Scale floor: run one activity, then stay in flight until told to finish. */
export async function activityThenWait(): Promise<void> {
  await noop();
  let go = false;
  wf.setHandler(goSignal, () => void (go = true));
  await wf.condition(() => go);
}
