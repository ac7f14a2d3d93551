// The policy gate: loads the worker's own policy file (never the merged commit's) and checks the
// change's content against it. Returns the settings the workflow acts on and the file's hash.
import { decide, type Decision, type Finding } from '../policy/engine/finding';
import { identifyFindings } from '../policy/engine/finding-identity';
import type { LoadedPolicy } from '../policy/config/load';
import { loadPolicyOrFail } from './policy-load';
import { promotionSettings, STANDARD_BAKE_HOURS, type Policy, type PromotionSettings } from '../policy/config/schema';
import type { Change } from '../workflows/messages';

/** Checks one change's content; the policy engine plugs in here. */
export type ChangeChecker = (policy: Policy, change: Change) => Promise<Finding[]>;

export interface PolicyGateResult {
  settings: PromotionSettings;
  policyHash: string;
  findings: Finding[];
  decision: Decision;
  shortBake: boolean;
}

export function createPolicyGateActivity(loadPolicy: () => LoadedPolicy, checkChange: ChangeChecker) {
  return async function evaluatePolicyGate(change: Change): Promise<PolicyGateResult> {
    // A broken policy file fails the promotion rather than guessing the rules.
    const { policy, hash } = loadPolicyOrFail(loadPolicy);
    const findings: Finding[] = [];
    if (policy.services.length && !policy.services.some((s) => s.name === change.service)) {
      findings.push({
        rule: 'unknown-service',
        level: 'block',
        message: `service "${change.service}" is not declared in the policy's services; Airlock will not promote what it cannot scope`,
      });
    }
    findings.push(...(await checkChange(policy, change)));
    const identified = identifyFindings(findings, policy.checks.waivable);
    return {
      settings: promotionSettings(policy),
      policyHash: hash,
      findings: identified,
      decision: decide(identified),
      shortBake: policy.bake.minHours < STANDARD_BAKE_HOURS,
    };
  };
}
