// The policy gate as the CLI runs it, shared by `airlock check` (one change) and `airlock backtest`
// (every commit of a history): read the policy file, forbid it to the change when it sits inside
// the checked tree, run the engine and give the findings their ids and waivability.
import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { checkChange } from '../policy/engine/check-change';
import type { ChangeTrees } from '../policy/engine/change-files';
import type { Finding } from '../policy/engine/finding';
import { identifyFindings } from '../policy/engine/finding-identity';
import { parsePolicy, PolicyError } from '../policy/config/load';
import type { Policy } from '../policy/config/schema';
import { CliError, ExitCode } from './errors';

/** The policy file parsed; an unreadable or invalid one is a usage error (2) prefixed with `command`. */
export function loadPolicyFile(path: string, command: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `${command}: policy ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      ExitCode.Usage,
    );
  }
  try {
    return parsePolicy(text, path).policy;
  } catch (err) {
    if (err instanceof PolicyError) throw new CliError(`${command}: ${err.message}`, ExitCode.Usage);
    throw err;
  }
}

/** The policy file in use is forbidden to the change when it lives in the checked tree `root`. */
export function policyProtectedPaths(root: string, policyPath: string): string[] {
  const inTree = relative(resolve(root), resolve(policyPath));
  return inTree.startsWith('..') ? [] : [inTree.split(sep).join('/')];
}

/** The gate's findings on one change, exactly as the workflow's gate and `airlock check` judge it. */
export async function gateFindings(
  policy: Policy,
  trees: ChangeTrees,
  options: { protectedPaths: string[]; now?: Date },
): Promise<Finding[]> {
  return identifyFindings(await checkChange(policy, trees, options), policy.checks.waivable);
}
