// zod shapes of the two GitHub events that mean "merged": the fields Airlock reads, nothing more.
import { z } from 'zod';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'must be a 40-hex commit SHA');
/** A commit's git identity as a push reports it: `username` only where GitHub matched the email. */
const gitIdentity = z.object({
  name: z.string().optional(),
  email: z.string().optional(),
  username: z.string().optional(),
});
const repositorySchema = z.object({
  full_name: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be owner/name'),
  default_branch: z.string().min(1),
});

export const pullRequestEventSchema = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({
    merged: z.boolean().nullable().optional(),
    merge_commit_sha: sha.nullable(),
    merged_at: z.string().nullable().optional(),
    title: z.string(),
    user: z.object({ login: z.string().min(1) }),
    /** Who pressed merge (null until merged): an author of the change like the opener. */
    merged_by: z
      .object({ login: z.string().min(1) })
      .nullable()
      .optional(),
    /** How many commits the pull request has; the commits read from the API must be all of them. */
    commits: z.number().int().nonnegative().optional(),
    base: z.object({ sha, ref: z.string() }),
    /** The commit an open pull request would merge: what its check run judges and is posted on. */
    head: z.object({ sha }).optional(),
  }),
  repository: repositorySchema,
});

export const pushEventSchema = z.object({
  ref: z.string(),
  before: z.string(),
  after: z.string(),
  deleted: z.boolean().optional(),
  commits: z.array(
    z.object({
      added: z.array(z.string()).default([]),
      modified: z.array(z.string()).default([]),
      removed: z.array(z.string()).default([]),
      author: gitIdentity.optional(),
      committer: gitIdentity.optional(),
    }),
  ),
  head_commit: z
    .object({
      message: z.string(),
      timestamp: z.string(),
      author: z.object({ username: z.string().optional(), name: z.string().optional() }),
    })
    .nullable(),
  pusher: z.object({ name: z.string() }),
  /** The account GitHub authenticated for the push. */
  sender: z.object({ login: z.string().min(1) }).optional(),
  repository: repositorySchema,
});

/**
 * Why a merge into `branch` of `repository` starts no promotion, or undefined when it does: only
 * the configured repositories (lower-case owner/name; GitHub names are case-insensitive) and only
 * their default branch, so a merge into an unprotected side branch never skips review on main.
 */
export function outOfScope(
  repository: z.infer<typeof repositorySchema>,
  branch: string,
  configured: readonly string[],
  verb: 'merged into' | 'pushed to' | 'targets' = 'merged into',
): string | undefined {
  if (!configured.includes(repository.full_name.toLowerCase()))
    return `repository ${repository.full_name} is not configured (AIRLOCK_REPOSITORIES)`;
  if (branch !== repository.default_branch)
    return `${verb} ${branch}, not the default branch ${repository.default_branch}`;
  return undefined;
}
