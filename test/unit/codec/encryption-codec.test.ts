// The payload codec: round trip, tamper detection, rotation, and pass-through of clear payloads.
import { describe, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadCodecConfig, type CodecKeys } from '../../../src/codec/codec-keys';
import { createEncryptionCodec, KEY_ID_METADATA } from '../../../src/codec/encryption-codec';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const keys = (env: Record<string, string>): CodecKeys => loadCodecConfig(env).keys!;
const old = keys({ AIRLOCK_CODEC_KEYS: `k1:${K1}` });
const rotated = keys({ AIRLOCK_CODEC_KEYS: `k1:${K1},k2:${K2}`, AIRLOCK_CODEC_KEY_ID: 'k2' });
const SECRET = { env: [{ name: 'DB_PASSWORD', value: 'hunter2-distinctive' }] };
const clear = (): Payload => defaultPayloadConverter.toPayload(SECRET);
const value = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const asText = (p: Payload) => Buffer.from(p.data ?? []).toString('latin1');

async function sealed(k = old): Promise<Payload> {
  const [p] = await createEncryptionCodec(k).encode([clear()]);
  return p;
}

describe('encryption codec', () => {
  test('round trip: metadata and data come back exactly; nothing readable on the wire', async () => {
    const codec = createEncryptionCodec(old);
    const [enc] = await codec.encode([clear()]);
    expect(Buffer.from(enc.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(enc.metadata![KEY_ID_METADATA]!).toString()).toBe('k1');
    expect(Object.keys(enc.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA]); // json/plain is inside
    expect(asText(enc)).not.toContain('hunter2');
    const [dec] = await codec.decode([enc]);
    expect(Buffer.from(dec.metadata!.encoding!).toString()).toBe('json/plain');
    expect(value(dec)).toEqual(SECRET);
  });

  test('a random IV per payload: the same value never encrypts twice the same', async () => {
    const [a, b] = await createEncryptionCodec(old).encode([clear(), clear()]);
    expect(Buffer.from(a.data!).subarray(0, 12)).not.toEqual(Buffer.from(b.data!).subarray(0, 12));
    expect(Buffer.from(a.data!)).not.toEqual(Buffer.from(b.data!));
  });

  test.each([
    ['the ciphertext', 20],
    ['the IV', 0],
    ['the tag', -1],
  ])('a flipped bit in %s fails authentication', async (_, at) => {
    const p = await sealed();
    const data = Buffer.from(p.data!);
    data[at < 0 ? data.length + at : at] ^= 1;
    await expect(createEncryptionCodec(old).decode([{ ...p, data }])).rejects.toThrow(
      /^codec: payload with key id "k1" failed authentication/,
    );
  });

  test('a key id rewritten to another known key fails authentication (the id is authenticated)', async () => {
    const p = await sealed(rotated); // under k2
    const relabelled = { ...p, metadata: { ...p.metadata, [KEY_ID_METADATA]: Buffer.from('k1') } };
    await expect(createEncryptionCodec(rotated).decode([relabelled])).rejects.toThrow(
      /key id "k1" failed authentication/,
    );
  });

  test('an unknown key id, a missing key id and a truncated payload are refused by name', async () => {
    const p = await sealed(rotated);
    await expect(createEncryptionCodec(old).decode([p])).rejects.toThrow(
      /^codec: payload encrypted with key id "k2", which AIRLOCK_CODEC_KEYS does not list \(known: k1\)$/,
    );
    const { [KEY_ID_METADATA]: _, ...noId } = p.metadata!;
    await expect(createEncryptionCodec(rotated).decode([{ ...p, metadata: noId }])).rejects.toThrow(
      /without encryption-key-id metadata/,
    );
    await expect(
      createEncryptionCodec(rotated).decode([{ ...p, data: Buffer.from(p.data!).subarray(0, 20) }]),
    ).rejects.toThrow(/20 bytes is shorter than IV and tag/);
  });

  test('rotation: what the old key encrypted still decodes after the switch; new payloads use the new id', async () => {
    const before = await sealed(old);
    const codec = createEncryptionCodec(rotated);
    expect(value((await codec.decode([before]))[0])).toEqual(SECRET);
    const [after] = await codec.encode([clear()]);
    expect(Buffer.from(after.metadata![KEY_ID_METADATA]!).toString()).toBe('k2');
    // The old key alone cannot read the new payloads.
    await expect(createEncryptionCodec(old).decode([after])).rejects.toThrow(/key id "k2"/);
  });

  test('a clear payload (a history from before the codec) passes decode unchanged', async () => {
    const p = clear();
    expect(await createEncryptionCodec(old).decode([p])).toEqual([p]);
  });
});
