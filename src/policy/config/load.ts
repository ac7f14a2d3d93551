// Parse the policy file text: YAML syntax first, then the zod schema; every error names its field path.
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { policySchema, type Policy } from './schema';

export class PolicyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`policy ${source}: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

export interface LoadedPolicy {
  policy: Policy;
  /** sha256 of the exact bytes, recorded on every promotion that used them. */
  hash: string;
}

export function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export function parsePolicy(text: string, source = '<policy>'): LoadedPolicy {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new PolicyError(
      source,
      doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // Unresolved aliases and alias bombs surface only here, as a ReferenceError: still a policy error.
    throw new PolicyError(source, [`YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const result = policySchema.safeParse(value);
  if (!result.success) throw new PolicyError(source, formatIssues(result.error.issues));
  return { policy: result.data, hash: createHash('sha256').update(text).digest('hex') };
}
