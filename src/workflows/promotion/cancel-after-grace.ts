// How a stop cancels a running activity (a deploy, a metrics watch).
import * as wf from '@temporalio/workflow';

/**
 * How long a stop lets a running activity end on its own before it asks the server to cancel it.
 * An activity that has just ended on the server, while the task carrying the stop was being
 * processed, cannot take a cancel request any more: the real server copes, but the Java
 * time-skipping test server rejects the task with ACTIVITY_UNKNOWN and never hands out another
 * (sdk-java#2391, sdk-typescript#1058), which froze promotions in the test suite whenever a breach
 * signal met a deploy that had just finished. The ended activity's result arrives within this
 * grace, so the restore waits at most this long for a deploy that takes minutes.
 */
export const CANCEL_GRACE_MS = 1_000;

/** Cancels `scope` unless the activity it runs has ended, or ends within the grace. */
export async function cancelAfterGrace(scope: wf.CancellationScope, ended: () => boolean): Promise<void> {
  if (ended()) return;
  // Already being cancelled from outside (the Web UI's cancel): the cancel is on its way; no timer
  // can run in a cancelled scope.
  if (!wf.CancellationScope.current().consideredCancelled && wf.patched('cancel-after-grace'))
    await wf.condition(ended, CANCEL_GRACE_MS);
  if (!ended()) scope.cancel();
}
