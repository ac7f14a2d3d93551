// Who may approve, reject, abort or waive findings of a promotion. Pure and deterministic: it runs inside update
// validators and signal handlers, so a refusal is decided by the workflow, not by its callers.
import type { PromotionSettings } from '../policy/config/schema';
import type { Change } from './messages';

export type HumanAction = 'approve' | 'reject' | 'abort' | 'resolve' | 'waive';

export interface AuthorizationContext {
  workflowId: string;
  change: Change;
  settings: PromotionSettings;
  /** Workflow time, ms since epoch. */
  now: number;
  /**
   * Compare the whole author set (change.authors) case-insensitively with the approver's id and
   * GitHub login; false only when replaying histories from before it (patch 'approver-identity').
   */
  authorSet?: boolean;
}

export type Authorization = { ok: true; approver: string } | { ok: false; reason: string };

/** Everyone who made the change, lower-cased: the opener, commit authors and committers, the merger. */
export function changeAuthors(change: Change): Set<string> {
  return new Set([change.author, ...(change.authors ?? [])].map((a) => a.toLowerCase()));
}

/**
 * Why `id` made the change (or is the agent), or undefined: the approver's id and GitHub login are
 * compared with every author and every agent identity, case-insensitively.
 */
export function authorshipOf(change: Change, settings: PromotionSettings, id: string): string | undefined {
  const entry = settings.approvers.allowed.find((a) => a.id === id);
  const names = [id, ...(entry?.github ? [entry.github] : [])];
  const authors = changeAuthors(change);
  const agents = new Set(settings.authors.agents.map((a) => a.toLowerCase()));
  for (const name of names) {
    const key = name.toLowerCase();
    if (agents.has(key)) return `"${name}" is an agent identity (authors.agents)`;
    if (authors.has(key))
      return `"${name}" is one of the change's authors (opener, commit author or committer, merger)`;
  }
  return undefined;
}

export function authorizeHuman(ctx: AuthorizationContext, action: HumanAction, who: string): Authorization {
  const id = typeof who === 'string' ? who.trim() : '';
  if (!id) return { ok: false, reason: `${action}: approver is missing` };
  if (ctx.authorSet) {
    const authored = authorshipOf(ctx.change, ctx.settings, id);
    if (authored) return { ok: false, reason: `${action}: ${authored} and can never ${action}` };
  } else if (id === ctx.change.author || ctx.settings.authors.agents.includes(id)) {
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
