// zod shapes of the two GitHub events that mean "merged": the fields Airlock reads, nothing more.
import { z } from 'zod';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'must be a 40-hex commit SHA');
const repository = z.object({
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
    base: z.object({ sha, ref: z.string() }),
  }),
  repository,
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
  repository,
});
