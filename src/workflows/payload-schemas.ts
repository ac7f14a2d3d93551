// zod schemas for the payloads that reach a promotion from outside. Used at the edges (server,
// CLI) and again inside the workflow, because a raw `temporal workflow signal` skips the edges.
import { z } from 'zod';
import type { ErrorRateSample } from './messages';

const fraction = z
  .number()
  .finite()
  .min(0, 'must be a fraction between 0 and 1')
  .max(1, 'must be a fraction between 0 and 1');

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });
const count = z.number().int('must be a whole number').min(0, 'must be ≥ 0');
const COUNT_FIELDS = ['errors', 'requests', 'baselineErrors', 'baselineRequests'] as const;
const RATE_FIELDS = ['rate', 'baseline', 'requestCount'] as const;
export const SEND_COUNTS =
  'send counts instead: errors and requests over the interval since the last sample, and baselineErrors and baselineRequests';

const sampleFields = z
  .object({
    environment: z.enum(['staging', 'production']),
    rate: fraction.optional(),
    baseline: fraction.optional(),
    requestCount: count.optional(),
    errors: count.optional(),
    requests: count.optional(),
    baselineErrors: count.optional(),
    baselineRequests: count.optional(),
    observedAt: isoTime,
    source: z.string().max(200).optional(),
  })
  .strict();
type SampleFields = z.infer<typeof sampleFields>;

/** Counts are consistent: both of each pair, errors never above their requests, no rates beside them. */
function checkCounts(s: SampleFields, issue: (field: string, message: string) => void): void {
  for (const k of RATE_FIELDS)
    if (s[k] !== undefined) issue(k, 'send counts or rates, not both: with counts the rates are computed');
  if (s.errors === undefined) issue('errors', 'is required with requests');
  if (s.requests === undefined) issue('requests', 'is required with errors');
  if ((s.baselineErrors === undefined) !== (s.baselineRequests === undefined))
    issue(
      s.baselineErrors === undefined ? 'baselineErrors' : 'baselineRequests',
      'baselineErrors and baselineRequests go together',
    );
  if (s.errors !== undefined && s.requests !== undefined && s.errors > s.requests)
    issue('errors', `must not exceed requests (${s.requests})`);
  if (s.baselineErrors !== undefined && s.baselineRequests !== undefined && s.baselineErrors > s.baselineRequests)
    issue('baselineErrors', `must not exceed baselineRequests (${s.baselineRequests})`);
}

const hasAnyCount = (s: SampleFields) => COUNT_FIELDS.some((k) => s[k] !== undefined);
const issuesOn = (ctx: z.RefinementCtx) => (field: string, message: string) =>
  ctx.addIssue({ code: 'custom', path: [field], message });

/** The rates of a sample with counts are derived from them, so every view shows the same figures. */
function withRates(s: SampleFields): ErrorRateSample {
  if (s.errors === undefined || s.requests === undefined) return s as ErrorRateSample;
  const ratio = (e: number, n: number) => (n > 0 ? e / n : 0);
  return {
    ...s,
    rate: ratio(s.errors, s.requests),
    baseline: ratio(s.baselineErrors ?? 0, s.baselineRequests ?? 0),
    requestCount: s.requests,
  };
}

/**
 * A sample carries counts, what the sequential breach test judges (issue 14). A rate-only sample
 * (`rate`, `baseline`, `requestCount`, judged one by one, which rolls back on noise) is refused,
 * naming the fields and saying what to send. The edges (server, CLI) and every promotion started
 * from patch `counts-only` on parse with this.
 */
export const errorRateSampleSchema = sampleFields
  .superRefine((s, ctx) => {
    const issue = issuesOn(ctx);
    if (!hasAnyCount(s)) {
      const rates = RATE_FIELDS.filter((k) => s[k] !== undefined);
      if (rates.length)
        issue(rates[0], `rate-only samples (${rates.join(', ')}) are no longer accepted: ${SEND_COUNTS}`);
      else issue('errors', `is required: ${SEND_COUNTS}`);
      return;
    }
    checkCounts(s, issue);
  })
  .transform(withRates);

/**
 * Counts or, as before, rates: what promotions started before patch `counts-only` accept, so that
 * their histories replay and they keep their behaviour until they end. The workflow only.
 */
export const legacyErrorRateSampleSchema = sampleFields
  .superRefine((s, ctx) => {
    const issue = issuesOn(ctx);
    if (!hasAnyCount(s)) {
      for (const k of RATE_FIELDS) if (s[k] === undefined) issue(k, `is required; better, ${SEND_COUNTS}`);
      return;
    }
    checkCounts(s, issue);
  })
  .transform(withRates);

/** A firing alert as the alert webhook forwards it (src/server/alert-webhook.ts). */
export const firingAlertSchema = z
  .object({
    environment: z.enum(['staging', 'production']),
    name: z.string().trim().min(1, 'is required').max(200),
    source: z.string().trim().min(1, 'is required').max(40),
    startsAt: isoTime,
    version: z.string().trim().min(1, 'must not be blank: leave it out for a service-wide alert').max(200).optional(),
    url: z.string().max(2000).optional(),
  })
  .strict();
export const alertSignalSchema = z
  .object({
    alerts: z.array(firingAlertSchema).min(1, 'must hold at least one firing alert').max(50),
    more: z.number().int().min(0).optional(),
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

/** Characters a waiver's reason may have: it is signed, shown in every view and kept in history. */
export const WAIVER_REASON_MAX = 1000;
export const waiveRequestSchema = z
  .object({
    by: who,
    findings: z
      .array(z.string().trim().min(1, 'must not be blank').max(200))
      .min(1, 'name at least one finding id (airlock status lists them)')
      .max(50),
    reason: z
      .string()
      .trim()
      .min(1, 'is required: why the findings may be lifted for this change')
      .max(WAIVER_REASON_MAX, `must be at most ${WAIVER_REASON_MAX} characters`),
    via,
    signature,
    slackUser,
  })
  .passthrough();

/** First problem of a failed parse, as "field: reason". */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`;
}
