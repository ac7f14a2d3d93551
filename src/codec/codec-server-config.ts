// The codec server's settings, parsed once in main() from the environment (the token is never logged).
import { z } from 'zod';
import { loadCodecConfig, type CodecKeys } from './codec-keys';

export interface CodecServerConfig {
  keys: CodecKeys;
  host: string;
  port: number;
  /** Browser origins allowed to call it: the Web UI's (CORS). */
  origins: string[];
  /** When set, every /encode and /decode needs `Authorization: Bearer <token>`. */
  token?: string;
}

const origin = z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin);

const schema = z.object({
  AIRLOCK_CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  AIRLOCK_CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65_535).default(8888),
  AIRLOCK_CODEC_SERVER_ORIGINS: z
    .string()
    .default('http://localhost:8233,http://127.0.0.1:8233')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(origin, { error: 'must be comma-separated http(s) origins' })),
  AIRLOCK_CODEC_SERVER_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
});

export function loadCodecServerConfig(env: NodeJS.ProcessEnv = process.env): CodecServerConfig {
  const { keys } = loadCodecConfig(env);
  if (!keys) throw new Error('codec server: AIRLOCK_CODEC_KEYS: no key configured, so there is nothing to decode');
  const r = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`codec server: ${i.path.join('.')}: ${i.message}`);
  }
  const c = r.data;
  return {
    keys,
    host: c.AIRLOCK_CODEC_SERVER_HOST,
    port: c.AIRLOCK_CODEC_SERVER_PORT,
    origins: c.AIRLOCK_CODEC_SERVER_ORIGINS,
    ...(c.AIRLOCK_CODEC_SERVER_TOKEN ? { token: c.AIRLOCK_CODEC_SERVER_TOKEN } : {}),
  };
}
