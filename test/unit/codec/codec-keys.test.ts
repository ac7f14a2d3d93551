// The codec's configuration: keys and the active id from the environment, errors that name the
// variable and the reason (and never the key).
import { describe, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import { loadCodecConfig } from '../../../src/codec/codec-keys';

const k32 = () => randomBytes(32).toString('base64');

describe('loadCodecConfig', () => {
  test('no keys: the codec is off', () => {
    expect(loadCodecConfig({})).toEqual({ required: false });
    expect(loadCodecConfig({ AIRLOCK_CODEC_KEYS: ' ', AIRLOCK_CODEC_REQUIRED: '0' })).toEqual({ required: false });
  });

  test('one key is active without an id; several need AIRLOCK_CODEC_KEY_ID', () => {
    const one = loadCodecConfig({ AIRLOCK_CODEC_KEYS: `k1:${k32()}` });
    expect(one.keys?.activeKeyId).toBe('k1');
    const two = loadCodecConfig({ AIRLOCK_CODEC_KEYS: `k1:${k32()}, k2:${k32()}`, AIRLOCK_CODEC_KEY_ID: 'k2' });
    expect(two.keys?.activeKeyId).toBe('k2');
    expect([...two.keys!.keys.keys()]).toEqual(['k1', 'k2']);
    expect(() => loadCodecConfig({ AIRLOCK_CODEC_KEYS: `k1:${k32()},k2:${k32()}` })).toThrow(
      /^codec: AIRLOCK_CODEC_KEY_ID: required when AIRLOCK_CODEC_KEYS lists more than one key \(k1, k2\)$/,
    );
  });

  test.each([
    [
      { AIRLOCK_CODEC_KEYS: `k1:${randomBytes(16).toString('base64')}` },
      /AIRLOCK_CODEC_KEYS: key "k1": 16 bytes, AES-256 needs 32/,
    ],
    [{ AIRLOCK_CODEC_KEYS: 'k1:not*base64!' }, /AIRLOCK_CODEC_KEYS: key "k1": not canonical base64/],
    // Non-zero padding bits: a second spelling of the same bytes is refused.
    [{ AIRLOCK_CODEC_KEYS: `k1:${k32().replace(/.=$/, 'B=')}` }, /AIRLOCK_CODEC_KEYS: key "k1": not canonical base64/],
    [{ AIRLOCK_CODEC_KEYS: k32() }, /AIRLOCK_CODEC_KEYS: entry 1: must be keyid:base64key/],
    [{ AIRLOCK_CODEC_KEYS: `k1:${k32()},k1:${k32()}` }, /AIRLOCK_CODEC_KEYS: entry 2: key id "k1" is listed twice/],
    [
      { AIRLOCK_CODEC_KEYS: `k1:${k32()}`, AIRLOCK_CODEC_KEY_ID: 'k9' },
      /AIRLOCK_CODEC_KEY_ID: "k9" is not a key id of AIRLOCK_CODEC_KEYS \(k1\)/,
    ],
    [{ AIRLOCK_CODEC_KEY_ID: 'k1' }, /AIRLOCK_CODEC_KEY_ID: is set but AIRLOCK_CODEC_KEYS lists no key/],
    [{ AIRLOCK_CODEC_REQUIRED: '1' }, /AIRLOCK_CODEC_KEYS: AIRLOCK_CODEC_REQUIRED=1 but no key is configured/],
    [{ AIRLOCK_CODEC_REQUIRED: 'yes' }, /AIRLOCK_CODEC_REQUIRED: must be 1 or 0/],
  ])('refuses %j', (env, message) => {
    expect(() => loadCodecConfig(env)).toThrow(message);
  });

  test('an error never quotes the key', () => {
    const key = randomBytes(31).toString('base64');
    expect(() => loadCodecConfig({ AIRLOCK_CODEC_KEYS: `k1:${key}` })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(key) as string }),
    );
  });

  test('AIRLOCK_CODEC_REQUIRED=1 with a key starts', () => {
    expect(loadCodecConfig({ AIRLOCK_CODEC_KEYS: `k1:${k32()}`, AIRLOCK_CODEC_REQUIRED: '1' }).required).toBe(true);
  });
});
