// Content-check sections of the policy (the change-content rules). Owned by the policy engine.
// Every default comes from the incident report; docs/policy-engine.md says which incident.
import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { parseQuantity } from '../engine/quantity';
import { DEFAULT_WAIVABLE, NEVER_WAIVABLE, WAIVER_RULES } from '../engine/finding-identity';

export const DEFAULT_FORBIDDEN_PATHS = [
  'terraform/production/**',
  'k8s/production/**',
  '**/secrets/**',
  '**/credentials/**',
];

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_CHANGE_BYTES = 20 * 1024 * 1024;

const level = z.enum(['block', 'warn']);

const quantity = z.string().refine((q) => {
  try {
    return parseQuantity(q) > 0n;
  } catch {
    return false;
  }
}, 'must be a positive Kubernetes quantity such as "12Gi"');

export const plannedOperationSchema = z
  .object({
    name: z.string().min(1),
    /** Cron expression (5 or 6 fields) of each window's start, e.g. "0 14 * * 1-5". */
    schedule: z.string().refine((expr) => {
      try {
        CronExpressionParser.parse(expr, { tz: 'UTC' });
        return true;
      } catch {
        return false;
      }
    }, 'must be a cron expression such as "0 14 * * 1-5" (14:00 on weekdays)'),
    durationMinutes: z.number().positive(),
    timezone: z
      .string()
      .refine((tz) => IANAZone.isValidZone(tz), 'must be an IANA time zone such as "UTC" or "Europe/Berlin"')
      .default('UTC'),
    services: z.array(z.string().min(1)).min(1, 'must list the services the window covers'),
    /** freeze: no deploy of these services; no_scaling: changes that scale them are blocked. */
    action: z.enum(['freeze', 'no_scaling']),
    environments: z
      .array(z.enum(['staging', 'production']))
      .min(1)
      .default(['staging', 'production']),
  })
  .strict();

export const checksSchema = z
  .object({
    /** Liveness probes failing fewer times than this restart pods on one network blip (AI-DEPLOY-009). */
    minLivenessFailureThreshold: z.number().int().min(1).default(3),
    /** A container's memory limit or request may grow by at most this percent (AI-DEPLOY-006). */
    maxMemoryIncreasePercent: z.number().positive().default(50),
    /** Free memory of the node pool; added memory × replicas above it evicts other pods (AI-DEPLOY-006). */
    nodePoolFreeMemory: quantity.optional(),
    /** Workload `replicas` and HPA `maxReplicas` ceiling (AI-DEPLOY-001; agent_policy.yaml max_replicas). */
    maxReplicas: z.number().int().positive().default(10),
    /** Globs (picomatch, `**` crosses directories) no change may touch. */
    forbiddenPaths: z.array(z.string().min(1)).default(DEFAULT_FORBIDDEN_PATHS),
    /** What a change in each sensitive category does: block, or warn the approvers. */
    sensitive: z
      .object({
        secrets: level.default('block'),
        networking: level.default('block'),
        database: level.default('warn'),
        production: level.default('warn'),
      })
      .strict()
      .prefault({}),
    /**
     * A container the change adds or edits with nothing for the memory or probe rules to judge (no
     * memory limit; no liveness or readiness probe): warn the approvers, or block.
     */
    vacuous: z
      .object({ memoryLimit: level.default('warn'), probes: level.default('warn') })
      .strict()
      .prefault({}),
    /** Blast radius of the change itself (agent_policy.yaml max_files_per_pr). */
    maxFilesPerChange: z.number().int().positive().default(10),
    plannedOperations: z.array(plannedOperationSchema).default([]),
    /**
     * A changed file larger than this (either side) is not read and blocks: no rule can judge what
     * the gate will not read, and reading it whole would stall the worker.
     */
    maxFileBytes: z.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
    /** The changed files' new versions (a deleted file: its old one) together; above it nothing is read and the change blocks. */
    maxChangeBytes: z.number().int().positive().default(DEFAULT_MAX_CHANGE_BYTES),
    /**
     * Without a clone (AIRLOCK_REPO_DIR) or a base commit nothing reads the change's content, and the
     * gate blocks (`unchecked-change`). `true` lets such a change through with a loud warning on every
     * status instead: for a sandbox, never for production.
     */
    allowUncheckedChanges: z.boolean().default(false),
    /**
     * A change whose only effect on every object is image references (tags, digests): `block` judges
     * it like any change (files-per-change, multi-service); `allow` lets it span services and files;
     * `promote-per-service` allows it only when it touches one service (docs/policy-engine.md).
     */
    imageOnlyChanges: z.enum(['allow', 'promote-per-service', 'block']).default('block'),
    /** Rules whose blocking findings a signed waiver by `approvers.required` people may lift. */
    waivable: z
      .array(
        z
          .string()
          .min(1)
          .superRefine((r, ctx) => {
            if (NEVER_WAIVABLE.has(r))
              ctx.addIssue({
                code: 'custom',
                message: `"${r}" means the change was not (all) read; no waiver can sign for it`,
              });
            else if (!WAIVER_RULES.has(r))
              ctx.addIssue({
                code: 'custom',
                message: `"${r}" is not a rule id (one of: ${[...WAIVER_RULES].join(', ')})`,
              });
          }),
      )
      .default([...DEFAULT_WAIVABLE]),
  })
  .strict()
  .prefault({});

export type ChecksPolicy = z.infer<typeof checksSchema>;
export type PlannedOperation = z.infer<typeof plannedOperationSchema>;
export type SensitiveCategory = keyof ChecksPolicy['sensitive'];
