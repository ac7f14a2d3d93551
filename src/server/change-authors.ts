// The author set of a merge: everyone who made the change and so may not approve it (compared,
// case-insensitively, with approver ids and GitHub logins inside the workflow).
import type { z } from 'zod';
import type { PullRequestCommitIdentities } from '../integrations/github/pull-request-commits';
import type { pullRequestEventSchema, pushEventSchema } from './github-events';
import { HttpError } from './http-errors';

/** Names in first-seen order, one spelling per person (GitHub logins are case-insensitive). */
function distinct(names: ReadonlyArray<string | undefined>): string[] {
  const seen = new Map<string, string>();
  for (const n of names) {
    const name = n?.trim();
    if (name && !seen.has(name.toLowerCase())) seen.set(name.toLowerCase(), name);
  }
  return [...seen.values()];
}

/**
 * A merged pull request: its opener, every commit's author and committer as GitHub lists them, and
 * the merger. All of these come from GitHub's own records of accounts, except commit identities
 * GitHub could not match to an account (then the git email and name count). Refused when GitHub
 * listed fewer commits than the pull request has (it lists at most 250): an incomplete set could
 * leave out the one author who must not approve.
 */
export function pullRequestAuthors(
  e: z.infer<typeof pullRequestEventSchema>,
  read: PullRequestCommitIdentities,
): string[] {
  const expected = e.pull_request.commits;
  if (expected !== undefined && read.commits < expected)
    throw new HttpError(
      422,
      `pull_request: GitHub listed ${read.commits} of its ${expected} commits (it lists at most 250), so the ` +
        'author set would be incomplete; split the change into smaller pull requests',
    );
  return distinct([e.pull_request.user.login, ...read.identities, e.pull_request.merged_by?.login]);
}

/**
 * A push: the pusher (`pusher.name`, and `sender.login`, the account GitHub authenticated) is
 * trustworthy; each commit's author and committer are what the pusher wrote into git, so they are
 * spoofable and only ever add exclusions, never remove the pusher.
 */
export function pushAuthors(e: z.infer<typeof pushEventSchema>): string[] {
  const claimed = e.commits.flatMap((c) =>
    [c.author, c.committer].flatMap((g) => (g?.username ? [g.username] : [g?.email, g?.name])),
  );
  return distinct([e.pusher.name, e.sender?.login, e.head_commit?.author.username, ...claimed]);
}
