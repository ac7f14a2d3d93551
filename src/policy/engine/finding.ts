// A finding: one rule's verdict on a change. Pure data, shared by the engine, the workflow and the CLI.
export type FindingLevel = 'block' | 'warn';

export interface Finding {
  /** Stable rule id, e.g. `liveness-probe`, `forbidden-path`. */
  rule: string;
  level: FindingLevel;
  file?: string;
  line?: number;
  /** Written for the on-call engineer at 3 AM: what is wrong and why it matters. */
  message: string;
  /** Stable digest of rule, file, line and message (finding-identity.ts): what a waiver names. */
  id?: string;
  /** A blocking finding a signed waiver may lift (policy `checks.waivable`). */
  waivable?: boolean;
}

export type Decision = 'allow' | 'block';

export function decide(findings: readonly Finding[]): Decision {
  return findings.some((f) => f.level === 'block') ? 'block' : 'allow';
}
