// Which run of a promotion a decision is about: its merge commit and the hash of the policy its gate
// applied. Signers read it from the promotion's `state`; the workflow verifies against its own.
import type { PromotionState } from '../workflows/messages';
import type { DecisionBinding } from './decision-signature';

/** The binding to sign for, or undefined while the gate has not decided (no policy hash yet). */
export function bindingOf(state: Pick<PromotionState, 'change' | 'policyHash'>): DecisionBinding | undefined {
  return state.policyHash ? { commit: state.change.commit, policyHash: state.policyHash } : undefined;
}

/** Short forms a person can compare with `airlock status` and the pull request. */
export function describeBinding(b: DecisionBinding | undefined): string {
  if (!b) return 'no commit or policy hash yet (the policy gate is still running)';
  return `commit ${b.commit.slice(0, 12)}, policy ${b.policyHash.slice(0, 12)}`;
}
