// The payload codec's keys, parsed once in main() from the environment (never at import time, never
// logged: only key ids appear in messages).
//
//   AIRLOCK_CODEC_KEYS=2026-11:<base64 of 32 bytes>,2027-01:<base64 of 32 bytes>
//   AIRLOCK_CODEC_KEY_ID=2027-01        the key new payloads are encrypted with
//   AIRLOCK_CODEC_REQUIRED=1            refuse to start without keys (production)
//
// Every listed key decrypts, so a rotation is: add the new key, switch the id, and keep the old key
// until the histories it encrypted have passed the namespace's retention.
import { z } from 'zod';

/** AES-256: the only key size accepted. */
export const CODEC_KEY_BYTES = 32;

export interface CodecKeys {
  /** The id new payloads are encrypted under. */
  activeKeyId: string;
  /** Every key that may decrypt, by id (the active one included). */
  keys: ReadonlyMap<string, Buffer>;
}

export interface CodecConfig {
  /** Absent: the codec is off, payloads go to Temporal in clear. */
  keys?: CodecKeys;
  required: boolean;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Canonical base64 only: one key has one spelling (non-zero padding bits are refused). */
function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const flag = z
  .enum(['', '0', '1', 'false', 'true'], { error: 'must be 1 or 0 (true or false)' })
  .optional()
  .transform((v) => v === '1' || v === 'true');

const envSchema = z
  .object({
    AIRLOCK_CODEC_KEYS: z.string().trim().optional(),
    AIRLOCK_CODEC_KEY_ID: z.string().trim().optional(),
    AIRLOCK_CODEC_REQUIRED: flag,
  })
  .transform((env, ctx): CodecConfig => {
    const issue = (path: string, message: string) => {
      ctx.addIssue({ code: 'custom', path: [path], message });
      return z.NEVER;
    };
    const entries = (env.AIRLOCK_CODEC_KEYS ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    if (!entries.length) {
      if (env.AIRLOCK_CODEC_KEY_ID) return issue('AIRLOCK_CODEC_KEY_ID', 'is set but AIRLOCK_CODEC_KEYS lists no key');
      if (env.AIRLOCK_CODEC_REQUIRED)
        return issue(
          'AIRLOCK_CODEC_KEYS',
          'AIRLOCK_CODEC_REQUIRED=1 but no key is configured (payloads would be in clear)',
        );
      return { required: false };
    }
    const keys = new Map<string, Buffer>();
    for (const [i, entry] of entries.entries()) {
      const at = entry.indexOf(':');
      const id = at < 0 ? '' : entry.slice(0, at);
      const where = `entry ${i + 1}`;
      if (!KEY_ID.test(id))
        return issue('AIRLOCK_CODEC_KEYS', `${where}: must be keyid:base64key with a key id of letters, digits, . _ -`);
      if (keys.has(id)) return issue('AIRLOCK_CODEC_KEYS', `${where}: key id "${id}" is listed twice`);
      const key = decodeBase64(entry.slice(at + 1));
      if (!key) return issue('AIRLOCK_CODEC_KEYS', `key "${id}": not canonical base64`);
      if (key.length !== CODEC_KEY_BYTES)
        return issue('AIRLOCK_CODEC_KEYS', `key "${id}": ${key.length} bytes, AES-256 needs ${CODEC_KEY_BYTES}`);
      keys.set(id, key);
    }
    const ids = [...keys.keys()];
    const activeKeyId = env.AIRLOCK_CODEC_KEY_ID || (ids.length === 1 ? ids[0] : undefined);
    if (!activeKeyId)
      return issue(
        'AIRLOCK_CODEC_KEY_ID',
        `required when AIRLOCK_CODEC_KEYS lists more than one key (${ids.join(', ')})`,
      );
    if (!keys.has(activeKeyId))
      return issue(
        'AIRLOCK_CODEC_KEY_ID',
        `"${activeKeyId}" is not a key id of AIRLOCK_CODEC_KEYS (${ids.join(', ')})`,
      );
    return { keys: { activeKeyId, keys }, required: env.AIRLOCK_CODEC_REQUIRED };
  });

export class CodecConfigError extends Error {
  override name = 'CodecConfigError';
}

export function loadCodecConfig(env: NodeJS.ProcessEnv = process.env): CodecConfig {
  const r = envSchema.safeParse(env);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new CodecConfigError(`codec: ${i.path.join('.')}: ${i.message}`);
}
