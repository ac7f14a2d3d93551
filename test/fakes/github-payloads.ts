// Real GitHub webhook payloads (@octokit/webhooks-examples), reshaped into a given merge: shared by
// the webhook tests, the fault suite and the merge benchmark so all of them send what GitHub sends.
import { randomBytes } from 'node:crypto';
import examples from '@octokit/webhooks-examples';

type Examples = Array<{ name: string; examples: any[] }>;

export const randomSha = (): string => randomBytes(20).toString('hex');

/** A private copy of the first example of `event` that `pick` accepts. */
export function githubExample(event: string, pick: (x: any) => boolean = () => true): any {
  const found = (examples as Examples).find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

/** The `pull_request.closed` example as the agent's merged pull request `number` at `commit`. */
export function mergedPullRequest(o: { number: number; commit: string; baseSha?: string }): any {
  const pr = githubExample('pull_request', (x) => x.action === 'closed');
  pr.number = o.number;
  Object.assign(pr.pull_request, {
    number: o.number,
    merged: true,
    merge_commit_sha: o.commit,
    merged_at: '2026-03-01T10:00:00Z',
  });
  pr.pull_request.user.login = 'airlock-agent[bot]';
  // The agent merges its own pull request (auto-merge); merged_by is a user object as GitHub sends it.
  pr.pull_request.merged_by = structuredClone(pr.pull_request.user);
  pr.pull_request.base.sha = o.baseSha ?? randomSha();
  return pr;
}

/** The `push` example to the default branch as one commit modifying `files`. */
export function pushOf(commit: string, files: string[], before = randomSha()): any {
  const push = githubExample('push', (x) => x.ref === 'refs/heads/master' && x.commits.length);
  Object.assign(push, { after: commit, before });
  Object.assign(push.commits[0], { id: commit, added: [], modified: files, removed: [] });
  return push;
}
