// The state of a promotion before its policy gate has run. Pure: the workflow starts from it, and
// the client shows it for a promotion whose history holds no report yet.
import type { Change, PromotionState } from '../messages';

export function initialState(workflowId: string, change: Change, now: string): PromotionState {
  return {
    workflowId,
    change,
    stage: 'policy_gate',
    now,
    shortBake: false,
    findings: [],
    approvals: [],
    refusals: [],
    errorRate: { samples: 0, inconclusive: 0, stale: 0 },
    deployed: [],
  };
}
