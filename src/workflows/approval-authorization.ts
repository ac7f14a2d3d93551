// Who may approve, reject or abort a promotion. Pure and deterministic: it runs inside update
// validators and signal handlers, so a refusal is decided by the workflow, not by its callers.
import type { PromotionSettings } from '../policy/config/schema';
import type { Change } from './messages';

export type HumanAction = 'approve' | 'reject' | 'abort' | 'resolve';

export interface AuthorizationContext {
  workflowId: string;
  change: Change;
  settings: PromotionSettings;
  /** Workflow time, ms since epoch. */
  now: number;
}

export type Authorization = { ok: true; approver: string } | { ok: false; reason: string };

export function authorizeHuman(ctx: AuthorizationContext, action: HumanAction, who: string): Authorization {
  const id = typeof who === 'string' ? who.trim() : '';
  if (!id) return { ok: false, reason: `${action}: approver is missing` };
  if (id === ctx.change.author || ctx.settings.authors.agents.includes(id)) {
    return {
      ok: false,
      reason: `${action}: "${id}" is the change's author (an agent identity) and can never ${action}`,
    };
  }
  if (!ctx.settings.approvers.allowed.some((a) => a.id === id)) {
    return { ok: false, reason: `${action}: "${id}" is not in approvers.allowed of the policy` };
  }
  return { ok: true, approver: id };
}
