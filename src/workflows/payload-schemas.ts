// zod schemas for the payloads that reach a promotion from outside. Used at the edges (server,
// CLI) and again inside the workflow, because a raw `temporal workflow signal` skips the edges.
import { z } from 'zod';

const fraction = z
  .number()
  .finite()
  .min(0, 'must be a fraction between 0 and 1')
  .max(1, 'must be a fraction between 0 and 1');

export const errorRateSampleSchema = z
  .object({
    environment: z.enum(['staging', 'production']),
    rate: fraction,
    baseline: fraction,
    requestCount: z.number().int('must be a whole number').min(0),
    observedAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' }),
    source: z.string().max(200).optional(),
  })
  .strict();

const who = z.string().trim().min(1, 'is required').max(200);
const via = z.string().max(40).optional();
const signature = z
  .object({
    at: z.string().max(64),
    nonce: z.string().min(8, 'must be at least 8 characters').max(128),
    value: z.string().max(200),
  })
  .strict()
  .optional();
const slackUser = z.string().max(40).optional();

/** The digest of a production change, as previewChange computes it. */
export const changeDigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 hex digits');
export const approvalRequestSchema = z
  .object({
    approver: who,
    comment: z.string().max(2000).optional(),
    via,
    signature,
    slackUser,
    changeDigest: changeDigestSchema.optional(),
  })
  .passthrough();
export const rejectRequestSchema = z
  .object({ approver: who, reason: z.string().trim().min(1, 'is required').max(2000), via, signature, slackUser })
  .passthrough();
export const resolveRequestSchema = z
  .object({ approver: who, note: z.string().trim().min(1, 'is required').max(2000), via, signature, slackUser })
  .passthrough();

export const abortRequestSchema = z
  .object({ by: who, reason: z.string().trim().min(1, 'is required').max(2000), via, signature, slackUser })
  .passthrough();

/** First problem of a failed parse, as "field: reason". */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`;
}
