// The webhook server's configuration, parsed once in main() from the environment. Secrets are
// kept out of anything that gets logged; each integration is on only when its secret is set.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseSecretKey } from '../approvals/key-file';

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const token = z.string().min(16, 'must be at least 16 characters').optional();
/** owner/name, compared case-insensitively (GitHub treats names so): stored lower-case. */
const repositoryList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'each entry must be owner/name (comma-separated)'))
      .min(1, 'must list at least one owner/name'),
  )
  .transform((l) => [...new Set(l.map((r) => r.toLowerCase()))]);

const schema = z.object({
  AIRLOCK_SERVER_HOST: z.string().min(1).default('0.0.0.0'),
  AIRLOCK_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Largest request body accepted, bytes: bigger bodies get 413 before any parsing. */
  AIRLOCK_BODY_LIMIT_BYTES: count(1024 * 1024),
  /** Proxies in front of the server whose X-Forwarded-For is believed (0: the peer address is the client). */
  AIRLOCK_TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  AIRLOCK_RATE_LIMIT_WINDOW_SECONDS: count(60),
  AIRLOCK_RATE_LIMIT_GITHUB: count(120),
  AIRLOCK_RATE_LIMIT_SLACK: count(120),
  AIRLOCK_RATE_LIMIT_ALERTS: count(300),
  AIRLOCK_RATE_LIMIT_HEALTH: count(600),
  GITHUB_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The repositories whose merges may start a promotion: owner/name, comma-separated. */
  AIRLOCK_REPOSITORIES: repositoryList.optional(),
  /** Token for reading a merged pull request's files (and for the GitHub reporter). */
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: z.url().optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  /** The Slack workspace (team id, T…) whose requests are accepted. */
  SLACK_TEAM_ID: z
    .string()
    .regex(/^[TE][A-Z0-9]{2,}$/, 'must be a Slack team id (T… or E…)')
    .optional(),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: z.url().optional(),
  /** The bridge's ed25519 secret key (airlock keygen); its public key is integrations.slack.bridgePublicKey. */
  AIRLOCK_SLACK_BRIDGE_KEY_FILE: z.string().min(1).optional(),
  /** One bearer token per alert source: a leaked one speaks only for its own source. */
  AIRLOCK_ALERTMANAGER_TOKEN: token,
  AIRLOCK_DATADOG_TOKEN: token,
  /** Replaced by the two above; refused with a message that says so. */
  AIRLOCK_ALERT_TOKEN: z.string().optional(),
});

/** Requests per client address and route in each window (a route's counter is its own). */
export interface RateLimits {
  windowMs: number;
  github: number;
  slack: number;
  alerts: number;
  health: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { windowMs: 60_000, github: 120, slack: 120, alerts: 300, health: 600 };

export interface ServerConfig {
  host: string;
  port: number;
  bodyLimit: number;
  /** Absent: DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimits;
  trustProxyHops?: number;
  /** `repositories`: lower-case owner/name; merges anywhere else are ignored. */
  github?: { webhookSecret: string; repositories: string[]; token?: string; apiUrl?: string };
  slack?: {
    signingSecret: string;
    teamId: string;
    bridgeSecretKey: Uint8Array;
    botToken?: string;
    apiUrl?: string;
  };
  alerts?: { alertmanagerToken?: string; datadogToken?: string };
}

const refuse = (field: string, why: string) => new Error(`server config: ${field}: ${why}`);

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0];
    throw refuse(String(i.path[0] ?? '(environment)'), i.message);
  }
  const c = r.data;
  if (c.SLACK_SIGNING_SECRET && !c.AIRLOCK_SLACK_BRIDGE_KEY_FILE)
    throw refuse(
      'AIRLOCK_SLACK_BRIDGE_KEY_FILE',
      'is required when SLACK_SIGNING_SECRET is set (Slack approvals are signed by the bridge)',
    );
  if (c.SLACK_SIGNING_SECRET && !c.SLACK_TEAM_ID)
    throw refuse(
      'SLACK_TEAM_ID',
      'is required when SLACK_SIGNING_SECRET is set (requests from any other workspace are refused)',
    );
  // Without an allow-list the server would promote merges of any repository signed with the secret.
  if (c.GITHUB_WEBHOOK_SECRET && !c.AIRLOCK_REPOSITORIES)
    throw refuse(
      'AIRLOCK_REPOSITORIES',
      'is required when GITHUB_WEBHOOK_SECRET is set: list the owner/name of each repository whose merges Airlock promotes',
    );
  if (c.AIRLOCK_ALERT_TOKEN !== undefined)
    throw refuse(
      'AIRLOCK_ALERT_TOKEN',
      'is replaced by AIRLOCK_ALERTMANAGER_TOKEN and AIRLOCK_DATADOG_TOKEN (one token per alert source); set those instead',
    );
  if (c.AIRLOCK_ALERTMANAGER_TOKEN && c.AIRLOCK_ALERTMANAGER_TOKEN === c.AIRLOCK_DATADOG_TOKEN)
    throw refuse('AIRLOCK_DATADOG_TOKEN', 'must differ from AIRLOCK_ALERTMANAGER_TOKEN (one token per source)');
  const alerts = {
    ...(c.AIRLOCK_ALERTMANAGER_TOKEN ? { alertmanagerToken: c.AIRLOCK_ALERTMANAGER_TOKEN } : {}),
    ...(c.AIRLOCK_DATADOG_TOKEN ? { datadogToken: c.AIRLOCK_DATADOG_TOKEN } : {}),
  };
  return {
    host: c.AIRLOCK_SERVER_HOST,
    port: c.AIRLOCK_SERVER_PORT,
    bodyLimit: c.AIRLOCK_BODY_LIMIT_BYTES,
    trustProxyHops: c.AIRLOCK_TRUST_PROXY_HOPS,
    rateLimits: {
      windowMs: c.AIRLOCK_RATE_LIMIT_WINDOW_SECONDS * 1000,
      github: c.AIRLOCK_RATE_LIMIT_GITHUB,
      slack: c.AIRLOCK_RATE_LIMIT_SLACK,
      alerts: c.AIRLOCK_RATE_LIMIT_ALERTS,
      health: c.AIRLOCK_RATE_LIMIT_HEALTH,
    },
    ...(c.GITHUB_WEBHOOK_SECRET && c.AIRLOCK_REPOSITORIES
      ? {
          github: {
            webhookSecret: c.GITHUB_WEBHOOK_SECRET,
            repositories: c.AIRLOCK_REPOSITORIES,
            token: c.GITHUB_TOKEN,
            apiUrl: c.GITHUB_API_URL,
          },
        }
      : {}),
    ...(c.SLACK_SIGNING_SECRET && c.AIRLOCK_SLACK_BRIDGE_KEY_FILE && c.SLACK_TEAM_ID
      ? {
          slack: {
            signingSecret: c.SLACK_SIGNING_SECRET,
            teamId: c.SLACK_TEAM_ID,
            bridgeSecretKey: parseSecretKey(
              readFileSync(c.AIRLOCK_SLACK_BRIDGE_KEY_FILE, 'utf8'),
              'AIRLOCK_SLACK_BRIDGE_KEY_FILE',
            ),
            botToken: c.SLACK_BOT_TOKEN,
            apiUrl: c.SLACK_API_URL,
          },
        }
      : {}),
    ...(Object.keys(alerts).length ? { alerts } : {}),
  };
}
