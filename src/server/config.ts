// The webhook server's configuration, parsed once in main() from the environment. Secrets are
// kept out of anything that gets logged; each integration is on only when its secret is set.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseSecretKey } from '../approvals/key-file';

const schema = z.object({
  AIRLOCK_SERVER_HOST: z.string().min(1).default('0.0.0.0'),
  AIRLOCK_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Largest request body accepted, bytes: bigger bodies get 413 before any parsing. */
  AIRLOCK_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  GITHUB_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Token for reading a merged pull request's files (and for the GitHub reporter). */
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: z.url().optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: z.url().optional(),
  /** The bridge's ed25519 secret key (airlock keygen); its public key is integrations.slack.bridgePublicKey. */
  AIRLOCK_SLACK_BRIDGE_KEY_FILE: z.string().min(1).optional(),
  AIRLOCK_ALERT_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export interface ServerConfig {
  host: string;
  port: number;
  bodyLimit: number;
  github?: { webhookSecret: string; token?: string; apiUrl?: string };
  slack?: { signingSecret: string; bridgeSecretKey: Uint8Array; botToken?: string; apiUrl?: string };
  alerts?: { token: string };
}

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`server config: ${i.path.join('.')}: ${i.message}`);
  }
  const c = r.data;
  if (c.SLACK_SIGNING_SECRET && !c.AIRLOCK_SLACK_BRIDGE_KEY_FILE) {
    throw new Error(
      'server config: AIRLOCK_SLACK_BRIDGE_KEY_FILE: is required when SLACK_SIGNING_SECRET is set (Slack approvals are signed by the bridge)',
    );
  }
  return {
    host: c.AIRLOCK_SERVER_HOST,
    port: c.AIRLOCK_SERVER_PORT,
    bodyLimit: c.AIRLOCK_BODY_LIMIT_BYTES,
    ...(c.GITHUB_WEBHOOK_SECRET
      ? { github: { webhookSecret: c.GITHUB_WEBHOOK_SECRET, token: c.GITHUB_TOKEN, apiUrl: c.GITHUB_API_URL } }
      : {}),
    ...(c.SLACK_SIGNING_SECRET && c.AIRLOCK_SLACK_BRIDGE_KEY_FILE
      ? {
          slack: {
            signingSecret: c.SLACK_SIGNING_SECRET,
            bridgeSecretKey: parseSecretKey(
              readFileSync(c.AIRLOCK_SLACK_BRIDGE_KEY_FILE, 'utf8'),
              'AIRLOCK_SLACK_BRIDGE_KEY_FILE',
            ),
            botToken: c.SLACK_BOT_TOKEN,
            apiUrl: c.SLACK_API_URL,
          },
        }
      : {}),
    ...(c.AIRLOCK_ALERT_TOKEN ? { alerts: { token: c.AIRLOCK_ALERT_TOKEN } } : {}),
  };
}
