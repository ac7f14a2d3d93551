// What a reader of a blocking finding may do about it, said the same way wherever the finding is
// shown before the merge (the pull request's check run, `airlock check --format github`).
import type { Finding } from './finding';

export function waiverNote(f: Finding, approversRequired: number): string | undefined {
  if (f.level !== 'block') return undefined;
  return f.waivable
    ? `waivable: a waiver signed by ${approversRequired} approvers may lift it after merge`
    : 'not waivable: the change itself must be fixed';
}
