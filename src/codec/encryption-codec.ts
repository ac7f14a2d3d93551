// The payload codec: every payload Airlock hands Temporal (workflow inputs, activity inputs and
// results, signals, updates, queries, memos, failures' details) is stored AES-256-GCM encrypted.
//
// Wire format of an encrypted payload:
//   metadata.encoding           "binary/encrypted"
//   metadata.encryption-key-id  the id of the key (AIRLOCK_CODEC_KEYS) it was encrypted with
//   data                        12-byte random IV ‖ ciphertext ‖ 16-byte GCM tag
// The plaintext is the whole original payload (its metadata and data) serialized as the Payload
// protobuf; the encoding and key id are the additional authenticated data, so a payload whose key id
// or encoding was rewritten fails to decrypt rather than decrypting under another meaning.
// Payloads that are not "binary/encrypted" (histories written before the codec was turned on) pass
// through decode unchanged.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeys } from './codec-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class PayloadDecryptError extends Error {
  override name = 'PayloadDecryptError';
}

const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);
const aad = (keyId: string) => Buffer.from(`${ENCRYPTED_ENCODING}\n${keyId}`, 'utf8');

export function isEncrypted(p: Payload): boolean {
  return text(p.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

export function encryptPayload(keys: CodecKeys, payload: Payload): Payload {
  const keyId = keys.activeKeyId;
  const key = keys.keys.get(keyId);
  if (!key) throw new Error(`codec: active key id "${keyId}" has no key`); // loadCodecConfig makes this impossible
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(keyId));
  const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    metadata: {
      [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING, 'utf8'),
      [KEY_ID_METADATA]: Buffer.from(keyId, 'utf8'),
    },
    data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
  };
}

export function decryptPayload(keys: CodecKeys, payload: Payload): Payload {
  if (!isEncrypted(payload)) return payload;
  const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
  if (!keyId) throw new PayloadDecryptError(`codec: encrypted payload without ${KEY_ID_METADATA} metadata`);
  const key = keys.keys.get(keyId);
  if (!key)
    throw new PayloadDecryptError(
      `codec: payload encrypted with key id "${keyId}", which AIRLOCK_CODEC_KEYS does not list (known: ${[...keys.keys.keys()].join(', ')})`,
    );
  const data = Buffer.from(payload.data ?? []);
  if (data.length < IV_BYTES + TAG_BYTES)
    throw new PayloadDecryptError(`codec: encrypted payload of ${data.length} bytes is shorter than IV and tag`);
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(keyId));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new PayloadDecryptError(
      `codec: payload with key id "${keyId}" failed authentication (altered, or encrypted with another key of that id)`,
    );
  }
  return temporal.api.common.v1.Payload.decode(plaintext);
}

export function createEncryptionCodec(keys: CodecKeys): PayloadCodec {
  return {
    encode: async (payloads) => payloads.map((p) => encryptPayload(keys, p)),
    decode: async (payloads) => payloads.map((p) => decryptPayload(keys, p)),
  };
}
