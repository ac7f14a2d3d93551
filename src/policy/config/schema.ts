// The one policy file: every rule Airlock enforces, validated at the edge with zod.
// Pure: no Temporal, no I/O. Content-check sections live in ./checks-schema.
import { z } from 'zod';
import { isPublicKey } from '../../approvals/decision-signature';
import { checksSchema } from './checks-schema';
import { monitoringSchema } from './monitoring-schema';
import { kubernetesSchema } from './kubernetes-schema';
import { environmentsSchema } from './environment-source-schema';

/** The bake every promotion gets unless the policy says loudly that it wants less. */
export const STANDARD_BAKE_HOURS = 24;

const identity = z.string().trim().min(1, 'must be a non-empty identity');

export const approverSchema = z
  .object({
    id: identity,
    /** Slack user id (U…) that maps to this approver; used by the Slack integration. */
    slack: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U012ABCDEF')
      .optional(),
    /** GitHub login of this approver: a change any of whose authors is this login is not theirs to approve. */
    github: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login such as octocat')
      .optional(),
    /** Base64 raw ed25519 public key (32 bytes) that verifies this approver's CLI signatures. */
    publicKey: z
      .string()
      .refine(isPublicKey, 'must be base64 of a raw 32-byte ed25519 public key (airlock keygen prints one)')
      .optional(),
  })
  .strict();

type ApproverField = 'id' | 'slack' | 'github' | 'publicKey';
const PERSON_KEYS = { slack: 'the Slack user', github: 'the GitHub login', publicKey: 'the public key' } as const;

/** Entries of approvers.allowed that name a person an earlier entry already names. */
function approverCollisions(
  allowed: ReadonlyArray<z.infer<typeof approverSchema>>,
): Array<{ index: number; field: ApproverField; message: string }> {
  const out: Array<{ index: number; field: ApproverField; message: string }> = [];
  const seen = {
    id: new Map<string, string>(),
    slack: new Map<string, string>(),
    github: new Map<string, string>(),
    publicKey: new Map<string, string>(),
  };
  allowed.forEach((a, index) => {
    // GitHub logins, like ids, are compared case-insensitively: GitHub treats Alice and alice as one.
    const keys = { id: a.id.toLowerCase(), slack: a.slack, github: a.github?.toLowerCase(), publicKey: a.publicKey };
    for (const field of ['id', 'slack', 'github', 'publicKey'] as const) {
      const key = keys[field];
      if (key === undefined) continue;
      const earlier = seen[field].get(key);
      if (earlier !== undefined && !(field === 'id' && earlier === a.id))
        out.push({
          index,
          field,
          message:
            field === 'id'
              ? `"${a.id}" and "${earlier}" differ only in case: one approver under two names`
              : `is also ${PERSON_KEYS[field]} of "${earlier}": one person would count as two approvers`,
        });
      else seen[field].set(key, a.id);
    }
  });
  // A login that is another approver's id makes "who authored this" ambiguous between two people.
  allowed.forEach((a, index) => {
    const other = a.github && allowed.find((b) => b !== a && b.id.toLowerCase() === a.github!.toLowerCase());
    if (other)
      out.push({
        index,
        field: 'github',
        message: `"${a.github}" is the id of another approver ("${other.id}"): one login must name one person`,
      });
  });
  return out;
}

/** Keys the policy revokes and still uses: a revoked key must be replaced, not kept beside its revocation. */
function revokedKeysInUse(policy: {
  approvers: { allowed: ReadonlyArray<z.infer<typeof approverSchema>>; revokedKeys: string[] };
  integrations?: { slack?: { bridgePublicKey: string } };
}): Array<{ path: Array<string | number>; message: string }> {
  const revoked = new Set(policy.approvers.revokedKeys);
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  policy.approvers.allowed.forEach((a, i) => {
    if (a.publicKey && revoked.has(a.publicKey))
      out.push({
        path: ['approvers', 'allowed', i, 'publicKey'],
        message: `"${a.id}"'s key is listed in approvers.revokedKeys; give "${a.id}" a new key (airlock keygen)`,
      });
  });
  const bridge = policy.integrations?.slack?.bridgePublicKey;
  if (bridge && revoked.has(bridge))
    out.push({
      path: ['integrations', 'slack', 'bridgePublicKey'],
      message: 'is listed in approvers.revokedKeys; give the server a new bridge key',
    });
  return out;
}

export const integrationsSchema = z
  .object({
    slack: z
      .object({
        /** Public half of the server's Slack bridge key: approvals via Slack must carry its signature. */
        bridgePublicKey: z
          .string()
          .refine(isPublicKey, 'must be base64 of a raw 32-byte ed25519 public key (airlock keygen prints one)'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const serviceSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a DNS-style service name'),
    paths: z.array(z.string().min(1)).min(1, 'must list at least one path glob'),
    /** How each environment is rendered from the repo; unset = image-tag mode (environment-source-schema.ts). */
    environments: environmentsSchema.optional(),
  })
  .strict();

export const policySchema = z
  .object({
    version: z.literal(1),
    authors: z
      .object({
        /** The agent identities: never approvers, whatever the approver list says. */
        agents: z.array(identity).default([]),
      })
      .strict()
      .default({ agents: [] }),
    approvers: z
      .object({
        required: z.number().int().min(2, 'two-person review: at least 2 distinct approvers').default(2),
        allowed: z.array(approverSchema).min(2, 'must list at least 2 approvers'),
        /** Unsigned approvals are refused unless this is explicitly false (see docs/approvals.md). */
        requireSignature: z.boolean().default(true),
        /** A signed decision is accepted only within this many minutes of workflow time. */
        /**
         * How many approvals may rest on the Slack bridge key alone (default and maximum: required − 1),
         * so one leaked Slack signing secret never makes a quorum.
         */
        maxBridgeApprovals: z
          .number()
          .int('must be a whole number of approvals')
          .min(0, 'must be 0 or more')
          .optional(),
        /**
         * How long a promotion blocked only by waivable findings waits for signed waivers before it
         * ends blocked (docs/policy-engine.md, Waivers).
         */
        waiverTimeoutHours: z.number().positive('must be a positive number of hours').default(72),
        signatureWindowMinutes: z
          .number()
          .positive()
          .max(60, 'a signature older than an hour is a replay risk')
          .default(10),
        /**
         * Public keys (approvers' or the Slack bridge's) that no promotion may accept any more, even
         * one whose gate ran before the key was listed: read at each approval (docs/approvals.md).
         */
        revokedKeys: z
          .array(z.string().refine(isPublicKey, 'must be base64 of a raw 32-byte ed25519 public key'))
          .default([]),
      })
      .strict(),
    bake: z
      .object({
        minHours: z.number().positive('must be a positive number of hours').default(STANDARD_BAKE_HOURS),
        /** Must be true for a bake under 24 h; status output then says so on every line. */
        allowShortBake: z.boolean().default(false),
      })
      .strict()
      .default({ minHours: STANDARD_BAKE_HOURS, allowShortBake: false }),
    canary: z
      .object({
        percent: z.number().gt(0).max(50, 'a canary above 50% is not a canary').default(10),
        minMinutes: z.number().positive().default(30),
      })
      .strict()
      .default({ percent: 10, minMinutes: 30 }),
    production: z
      .object({
        /** Watch after the 100 % rollout before the promotion counts as promoted. */
        watchMinutes: z.number().positive().default(30),
      })
      .strict()
      .default({ watchMinutes: 30 }),
    approval: z
      .object({ timeoutHours: z.number().positive().default(72) })
      .strict()
      .default({ timeoutHours: 72 }),
    rollback: z
      .object({
        /** Breach: rate rises more than this percent above the baseline (relative). */
        thresholdPercent: z.number().positive().default(5),
        /** Samples with fewer requests are inconclusive: they neither breach nor count as data. */
        minRequestCount: z.number().int().positive().default(100),
        /** The baseline used is never below this rate, so a spotless baseline does not turn one 5xx into a breach. */
        baselineFloor: z.number().min(0).max(1).default(0.001),
        /**
         * The probability that a healthy change is rolled back by the sequential breach test over a
         * whole promotion, however often samples arrive (samples with counts; docs/monitoring.md).
         */
        falseRollbackRate: z.number().gt(0).max(0.2).default(0.01),
        /**
         * A watch that ends with too little traffic for its sequential test to have caught a doubling
         * of the error rate: `rollback` (as silence does) or `hold` (go on; every view says so).
         */
        onInsufficientEvidence: z.enum(['rollback', 'hold']).default('rollback'),
        /** How long a restore is retried before the promotion ends rollback_failed and waits for a human. */
        maxRetryMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(30),
      })
      .strict()
      .default({
        thresholdPercent: 5,
        minRequestCount: 100,
        baselineFloor: 0.001,
        falseRollbackRate: 0.01,
        onInsufficientEvidence: 'rollback',
        maxRetryMinutes: 30,
      }),
    monitoring: monitoringSchema.default({ maxSilenceMinutes: 10, intervalSeconds: 60 }),
    blastRadius: z
      .object({
        maxServicesInFlight: z.number().int().positive().default(1),
        maxStartsPerHour: z.number().int().positive().default(5),
        /**
         * What the slot covers: `promotion` (queue to end, today's behaviour) or `production`
         * (canary through production watch; staging bakes of different services run in parallel).
         */
        scope: z.enum(['promotion', 'production']).default('promotion'),
      })
      .strict()
      .default({ maxServicesInFlight: 1, maxStartsPerHour: 5, scope: 'promotion' }),
    /** Release trains (docs/release-trains.md): how merges of a service that is already promoting are carried. */
    trains: z
      .object({
        /** A merge of a service with a queued promotion joins it: one promotion carries both commits. */
        coalesce: z.boolean().default(true),
        /**
         * A merge of a service whose promotion is baking, canarying or awaiting approval: `queue`
         * waits behind it; `restart` stops it there, takes the canary out of production, deploys the
         * combined change to staging and bakes it in full again (approvals of the old diff are void).
         */
        whileInFlight: z.enum(['queue', 'restart']).default('queue'),
      })
      .strict()
      .default({ coalesce: true, whileInFlight: 'queue' }),
    services: z.array(serviceSchema).default([]),
    integrations: integrationsSchema.default({}),
    checks: checksSchema,
    /** Where each environment lives for the Kubernetes deployer (docs/kubernetes.md); unused by the simulation. */
    kubernetes: kubernetesSchema.optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.bake.minHours < STANDARD_BAKE_HOURS && !policy.bake.allowShortBake) {
      ctx.addIssue({
        code: 'custom',
        path: ['bake', 'minHours'],
        message: `is ${policy.bake.minHours} h, under the ${STANDARD_BAKE_HOURS} h standard; set bake.allowShortBake: true to say so explicitly`,
      });
    }
    const ids = policy.approvers.allowed.map((a) => a.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) {
        ctx.addIssue({ code: 'custom', path: ['approvers', 'allowed', i, 'id'], message: `"${id}" is listed twice` });
      }
      const agent = policy.authors.agents.find((a) => a.toLowerCase() === id.toLowerCase());
      if (agent && agent !== id) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvers', 'allowed', i, 'id'],
          message: `"${id}" is the agent identity "${agent}" in another case (authors.agents) and can never approve`,
        });
      }
      const login = policy.approvers.allowed[i].github;
      const loginAgent = login && policy.authors.agents.find((a) => a.toLowerCase() === login.toLowerCase());
      if (loginAgent) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvers', 'allowed', i, 'github'],
          message: `"${login}" is the agent identity "${loginAgent}" (authors.agents) and can never approve`,
        });
      }
      if (policy.authors.agents.includes(id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvers', 'allowed', i, 'id'],
          message: `"${id}" is an agent identity (authors.agents) and can never approve`,
        });
      }
    });
    // One person must never count twice: ids that differ only in case, or two entries with one key
    // or one Slack user, are one approver under two names.
    approverCollisions(policy.approvers.allowed).forEach(({ index, field, message }) =>
      ctx.addIssue({ code: 'custom', path: ['approvers', 'allowed', index, field], message }),
    );
    revokedKeysInUse(policy).forEach(({ path, message }) => ctx.addIssue({ code: 'custom', path, message }));
    if (ids.length < policy.approvers.required) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers', 'allowed'],
        message: `lists ${ids.length} approvers but approvers.required is ${policy.approvers.required}`,
      });
    }
    const bridgeCap = policy.approvers.maxBridgeApprovals;
    if (bridgeCap !== undefined && bridgeCap > policy.approvers.required - 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers', 'maxBridgeApprovals'],
        message: `is ${bridgeCap}, but at most approvers.required − 1 (${policy.approvers.required - 1}) approvals may rest on the Slack bridge key: one leaked Slack signing secret must never make a quorum`,
      });
    }
    const names = policy.services.map((s) => s.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `"${n}" is declared twice` });
    });
  });

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type Approver = z.infer<typeof approverSchema>;

/** The sections the promotion workflow acts on; carried in workflow history so replays see the same rules. */
export type PromotionSettings = Pick<
  Policy,
  'authors' | 'approvers' | 'bake' | 'canary' | 'production' | 'approval' | 'rollback' | 'monitoring' | 'blastRadius'
> &
  // Optional so settings recorded in histories before they existed still type-check on replay.
  Partial<Pick<Policy, 'integrations' | 'trains'>>;

export function promotionSettings(policy: Policy): PromotionSettings {
  const { authors, approvers, bake, canary, production, approval, rollback, monitoring, blastRadius, integrations } =
    policy;
  const { trains } = policy;
  return {
    authors,
    approvers,
    bake,
    canary,
    production,
    approval,
    rollback,
    monitoring,
    blastRadius,
    integrations,
    trains,
  };
}
