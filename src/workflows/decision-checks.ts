// The checks every human decision sent to a workflow goes through: who may decide (authorizeHuman),
// whether the request is genuinely theirs (checkDecisionIdentity), and how an Update answers a
// refusal. Shared by the promotion and the compensation workflow, so both apply the same rules.
// Deterministic: workflow time, and the signatures this workflow has already accepted.
import * as wf from '@temporalio/workflow';
import type { PromotionSettings } from '../policy/config/schema';
import { bindingOf } from '../approvals/decision-binding';
import { checkDecisionIdentity, type Attribution, type SignedRequest } from '../approvals/verify-decision';
import { FailureType } from '../common/failure-types';
import { authorizeHuman, type HumanAction } from './approval-authorization';
import type { Change } from './messages';

// Identity refusals (forged, replayed, unsigned, stale signature) are recorded in state.refusals,
// so an update carrying one passes its validator and is refused by its handler, in history.
export class IdentityRefused extends Error {}

export interface DecisionChecks {
  /** Signatures this workflow has accepted: a signed decision counts once. */
  readonly usedSignatures: Set<string>;
  authorize(action: HumanAction, who: string): { approver: string; settings: PromotionSettings };
  /** `sentBeforeGate`: a stop sent while the gate ran, so its signer could not know the policy hash. */
  checkIdentity(
    action: HumanAction,
    req: SignedRequest,
    settings: PromotionSettings,
    sentBeforeGate?: boolean,
  ): Attribution;
}

export function createDecisionChecks(o: {
  workflowId: string;
  change: Change;
  /** The policy the promotion's gate recorded; undefined while the gate runs. */
  settings: () => PromotionSettings | undefined;
  /** False only when replaying histories from before signed decisions. */
  signedDecisions: boolean;
  /** Signatures accepted so far (a promotion carries them when it continues as new). */
  usedSignatures?: Set<string>;
  /** Exclude the whole author set, case-insensitively (see AuthorizationContext.authorSet). */
  authorSet?: boolean;
  /** The policy hash the gate recorded (state.policyHash): signatures bind it and change.commit. */
  policyHash: () => string | undefined;
  /** Patch 'decision-binds-commit': signatures that bind neither (v1 / v2) are refused once it is known. */
  bindsCommit: boolean;
}): DecisionChecks {
  const { workflowId, change } = o;
  const usedSignatures = o.usedSignatures ?? new Set<string>();
  return {
    usedSignatures,
    authorize(action, who) {
      const settings = o.settings();
      if (!settings) throw new Error(`${action}: the policy gate is still running; try again in a few seconds`);
      const auth = authorizeHuman(
        { workflowId, change, settings, now: Date.now(), authorSet: o.authorSet },
        action,
        who,
      );
      if (!auth.ok) throw new Error(auth.reason);
      return { approver: auth.approver, settings };
    },
    checkIdentity(action, req, settings, sentBeforeGate = false) {
      if (!o.signedDecisions) return 'unsigned'; // histories from before signed decisions replay as they ran
      // The workflow's own commit and policy hash, never the request's. Before the patch a signature
      // covering them is accepted too: it is stricter than the v1 / v2 one it replaces.
      const binding = bindingOf({ change, policyHash: o.policyHash() });
      const requireBinding = o.bindsCommit && !sentBeforeGate;
      const r = checkDecisionIdentity(req, {
        workflowId,
        action,
        settings,
        now: Date.now(),
        usedSignatures,
        ...(binding ? { binding } : {}),
        requireBinding,
      });
      if (!r.ok) throw new IdentityRefused(r.reason);
      return r.attribution;
    },
  };
}

/** Update validator: identity refusals pass, so the handler can record them in history. */
export function validating(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof IdentityRefused)) throw err;
  }
}

/** Update handler: a refusal fails the update with a typed failure; identity refusals are recorded first. */
export function handling<T>(fn: () => T, recordIdentityRefusal: (err: Error) => void): T {
  try {
    return fn();
  } catch (err) {
    throw refused(err, recordIdentityRefusal);
  }
}

/** handling() for a handler that waits (an activity, a lock) before it decides. */
export async function handlingAsync<T>(fn: () => Promise<T>, recordIdentityRefusal: (err: Error) => void): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw refused(err, recordIdentityRefusal);
  }
}

function refused(err: unknown, recordIdentityRefusal: (err: Error) => void): wf.ApplicationFailure {
  if (err instanceof IdentityRefused) recordIdentityRefusal(err);
  return wf.ApplicationFailure.create({
    type: FailureType.DecisionRefused,
    message: (err as Error).message,
    nonRetryable: true,
  });
}
