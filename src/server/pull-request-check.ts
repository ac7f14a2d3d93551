// The gate before the merge: the policy check the worker's gate runs after the merge, run on an
// open pull request's base..head from the server's clone, and posted as the `Airlock policy`
// check run on the head commit. Every pull request gets one (a docs-only change gets `success`):
// a check that branch protection requires must report on every pull request, or those without
// it could never merge.
import type { Policy } from '../policy/config/schema';
import { candidatePaths } from '../policy/engine/change-files';
import { serviceMatcher } from '../policy/engine/check-context';
import type { Finding } from '../policy/engine/finding';
import { identifyFindings } from '../policy/engine/finding-identity';
import { readTrees } from '../policy/engine/trees/read-trees';
import { TreeError } from '../policy/engine/trees/tree-error';
import type { PolicyCheck } from '../integrations/github/policy-check-run';
import { createChangeChecker } from '../worker/policy-wiring';

export interface PullRequestToCheck {
  /** owner/name */
  repository: string;
  number: number;
  title: string;
  author: string;
  baseSha: string;
  headSha: string;
}

export type PullRequestChecker = (policy: Policy, pr: PullRequestToCheck) => Promise<void>;

export interface PullRequestCheckerOptions {
  /** The clone (AIRLOCK_REPO_DIR, as the worker's): a head it lacks is fetched from its remote. */
  repoDir: string;
  /** What the worker forbids on top of the policy (workerProtectedPaths). */
  protectedPaths: string[];
  /** Posts the check run (postPolicyCheckRun with the server's Octokit). */
  post: (check: PolicyCheck) => Promise<unknown>;
}

/** The findings of a pull request, identified as the gate identifies them (same ids, same waivable). */
export async function pullRequestFindings(
  policy: Policy,
  pr: PullRequestToCheck,
  o: Omit<PullRequestCheckerOptions, 'post'>,
): Promise<Finding[]> {
  let service = '';
  try {
    // The service the merge would promote, chosen as the merge does (the changed paths against
    // services[].paths). One service: judged exactly as its promotion will be (service-mismatch,
    // rendered objects). None or several: judged like `airlock check`, where multi-service reports them.
    const trees = await readTrees(o.repoDir, pr.baseSha, pr.headSha);
    const servicesOf = serviceMatcher(policy);
    const touched = new Set(candidatePaths(trees).flatMap((p) => servicesOf(p)));
    if (touched.size === 1) service = [...touched][0];
  } catch (err) {
    if (!(err instanceof TreeError)) throw err;
    return identifyFindings(
      [
        {
          rule: 'unreadable-change',
          level: 'block',
          message: `cannot read pull request #${pr.number} (base ${pr.baseSha.slice(0, 12)}, head ${pr.headSha.slice(0, 12)}) from the server's clone: ${err.reason}. Push again or re-run once the clone can fetch it`,
        },
      ],
      policy.checks.waivable,
    );
  }
  const check = createChangeChecker(o.repoDir, { protectedPaths: o.protectedPaths });
  const findings = await check(policy, {
    service,
    commit: pr.headSha,
    baseCommit: pr.baseSha,
    author: pr.author,
    version: pr.headSha,
    repository: pr.repository,
    title: pr.title,
  });
  return identifyFindings(findings, policy.checks.waivable);
}

/**
 * Checks run one at a time: two fetches into one clone at once fail on git's ref locks, and a
 * failed fetch would post a false `unreadable-change` failure on a busy repository.
 */
export function createPullRequestChecker(o: PullRequestCheckerOptions): PullRequestChecker {
  let queue: Promise<unknown> = Promise.resolve();
  return (policy, pr) => {
    const run = queue.then(async () => {
      const findings = await pullRequestFindings(policy, pr, o);
      await o.post({
        repository: pr.repository,
        baseSha: pr.baseSha,
        headSha: pr.headSha,
        findings,
        approversRequired: policy.approvers.required,
      });
    });
    queue = run.catch(() => undefined); // one failed check does not stop the next
    return run;
  };
}
