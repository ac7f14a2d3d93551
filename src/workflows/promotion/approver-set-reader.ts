// Reads the approver set of the policy file as it is now (activity currentApproverSet), one read at
// a time, so decisions checked against it (approvals, waivers) are recorded in the order they came.
import * as wf from '@temporalio/workflow';
import type { ApproverSet } from '../../approvals/revocation';
import { IdentityRefused } from '../decision-checks';
import { lookupActs } from './activity-options';

export type ApproverSetReader = (action: string) => Promise<ApproverSet>;

export function createApproverSetReader(): ApproverSetReader {
  let reading = false;
  return async (action) => {
    // condition() wakes every waiter whose test holds at once: test again after waking.
    while (reading) await wf.condition(() => !reading);
    reading = true;
    try {
      return await lookupActs.currentApproverSet().catch((err: unknown) => {
        const why = err instanceof wf.ActivityFailure && err.cause ? err.cause.message : String(err);
        // Recorded in state.refusals like an identity refusal: the update failed in history.
        throw new IdentityRefused(
          `${action}: the current approver set could not be read (${why}); nothing was recorded, ${action} again`,
        );
      });
    } finally {
      reading = false;
    }
  };
}
