// A saved plan as Airlock reports it: counts, the changing resources, the human text approvers read,
// and a digest of the JSON plan's resource_changes that an approval is bound to.
import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

/** tofu's `change.actions`: ["create"], ["update"], ["delete", "create"], ["forget"], ... */
export type PlanAction = 'no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget';

export interface ResourceChange {
  address: string;
  actions: PlanAction[];
  /** tofu's action_reason, e.g. "replace_by_triggers", "delete_because_no_resource_config". */
  reason?: string;
}

/**
 * Unlike tofu's "Plan: N to add, M to change, K to destroy" line (which counts a replacement as one
 * add and one destroy), every resource is counted once, under the action that matters to a reviewer.
 */
export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
  replace: number;
  /** Removed from state without being destroyed (`removed` blocks). */
  forget: number;
}

export interface TerraformPlan {
  summary: PlanSummary;
  /** Resources whose actions are not "no-op", in tofu's order (by address). */
  resourceChanges: ResourceChange[];
  /** `tofu show` of the saved plan, for approvers. */
  text: string;
  /** "sha256:<hex>" of the canonical JSON of the plan's resource_changes. */
  digest: string;
}

interface PlanJson {
  resource_changes?: { address: string; action_reason?: string; change: { actions: PlanAction[] } }[];
}

export function isReplace(actions: readonly PlanAction[]): boolean {
  return actions.includes('delete') && actions.includes('create');
}

export function summarize(changes: readonly ResourceChange[]): PlanSummary {
  const s: PlanSummary = { add: 0, change: 0, destroy: 0, replace: 0, forget: 0 };
  for (const { actions } of changes) {
    if (isReplace(actions)) s.replace++;
    else if (actions.includes('create')) s.add++;
    else if (actions.includes('update')) s.change++;
    else if (actions.includes('delete')) s.destroy++;
    else if (actions.includes('forget')) s.forget++;
  }
  return s;
}

/** Builds the report from `tofu show -json <plan>` and `tofu show <plan>`. */
export function readPlan(showJson: string, text: string): TerraformPlan {
  const json = JSON.parse(showJson) as PlanJson;
  const all = json.resource_changes ?? [];
  const resourceChanges = all
    .filter((rc) => !(rc.change.actions.length === 1 && rc.change.actions[0] === 'no-op'))
    .map((rc) => ({
      address: rc.address,
      actions: rc.change.actions,
      ...(rc.action_reason ? { reason: rc.action_reason } : {}),
    }));
  // Canonical (sorted keys) so the digest depends on the plan, not on how tofu ordered its keys.
  const digest = createHash('sha256')
    .update(stringify(all) ?? '[]')
    .digest('hex');
  return { summary: summarize(resourceChanges), resourceChanges, text: text.trim(), digest: `sha256:${digest}` };
}

/** Destroy and replace actions: what the policy blocks in production unless it allows them. */
export function destructiveChanges(
  plan: Pick<TerraformPlan, 'resourceChanges'>,
): (ResourceChange & { kind: 'destroy' | 'replace' })[] {
  return plan.resourceChanges
    .filter((rc) => rc.actions.includes('delete'))
    .map((rc) => ({ ...rc, kind: isReplace(rc.actions) ? 'replace' : 'destroy' }));
}
