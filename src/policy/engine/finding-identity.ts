// Each finding's id and whether a signed waiver may lift it. The id is a digest of what the finding
// says, so the same content gives the same id before the merge (the pull request's check run), at
// the gate and in `airlock backtest`, and a waiver names exactly the findings its signers read.
import { createHash } from 'node:crypto';
import type { Finding } from './finding';

/**
 * Rules that mean Airlock did not read (all of) the change, or cannot scope it: a waiver would sign
 * content nobody checked, so no policy may make them waivable.
 */
export const NEVER_WAIVABLE: ReadonlySet<string> = new Set([
  'unparseable',
  'file-too-large',
  'change-too-large',
  'symlink',
  'submodule',
  'unchecked-change',
  'unreadable-change',
  'unrenderable',
  'unknown-service',
]);

/**
 * Waivable unless the policy says otherwise (`checks.waivable`). Forbidden paths, reach into them,
 * secrets, production and another service's files stay blocked: the incidents they stop were not
 * judgement calls. Size, memory, replicas, probes and networking are: a human may sign for them.
 */
export const DEFAULT_WAIVABLE = [
  'files-per-change',
  'multi-service',
  'image-only',
  'memory-increase',
  'memory-capacity',
  'replicas',
  'liveness-probe',
  'vacuous-memory-limit',
  'vacuous-probe',
  'sensitive-networking',
  'sensitive-database',
] as const;

/** Every blocking rule a policy may name in `checks.waivable` (a typo must not silently waive nothing). */
export const WAIVER_RULES: ReadonlySet<string> = new Set([
  ...DEFAULT_WAIVABLE,
  'forbidden-path',
  'reach',
  'service-mismatch',
  'planned-operation',
  'sensitive-secrets',
  'sensitive-production',
]);

export function findingId(f: Pick<Finding, 'rule' | 'file' | 'line' | 'message'>): string {
  const digest = createHash('sha256')
    .update([f.rule, f.file ?? '', String(f.line ?? ''), f.message].join('\0'))
    .digest('hex');
  return `${f.rule}-${digest.slice(0, 10)}`;
}

/** Gives each finding its id and, for blocking ones, whether the policy lets a waiver lift it. */
export function identifyFindings(findings: readonly Finding[], waivable: readonly string[]): Finding[] {
  const allowed = new Set(waivable.filter((r) => !NEVER_WAIVABLE.has(r)));
  return findings.map((f) => ({
    ...f,
    id: findingId(f),
    ...(f.level === 'block' ? { waivable: allowed.has(f.rule) } : {}),
  }));
}
