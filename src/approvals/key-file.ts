// Approver key files: a base64 raw ed25519 secret key, owner-readable only (like ssh keys).
// Shared by the CLI (signing) and the server (the Slack bridge key): errors are KeyFileError, which
// each caller turns into its own kind of refusal.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeBase64, encodeBase64 } from './base64';
import { publicKeyOf } from './decision-signature';

/** A key file or key text that cannot be used; the message names the file or setting. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export interface KeyPair {
  secretKey: Uint8Array;
  /** base64 raw public key: paste into approvers.allowed[].publicKey of the policy. */
  publicKey: string;
}

export function generateKeyPair(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

/** `airlock keygen --out FILE`: never overwrites an existing key. */
export function keygen(out: string): { path: string; publicKey: string } {
  if (existsSync(out)) throw new KeyFileError(`keygen: --out ${out} already exists; refusing to overwrite a key`);
  const { secretKey, publicKey } = generateKeyPair();
  writeFileSync(out, `${encodeBase64(secretKey)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(out, 0o600);
  return { path: out, publicKey };
}

export function parseSecretKey(text: string, source: string): Uint8Array {
  const key = decodeBase64(text.trim());
  if (!key || key.length !== 32)
    throw new KeyFileError(`${source}: must hold a base64 raw 32-byte ed25519 secret key (airlock keygen writes one)`);
  return key;
}

export function readKeyFile(path: string): Uint8Array {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new KeyFileError(`--key ${path}: no such file`);
  }
  // A key others can read is a key others can sign with.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new KeyFileError(
      `--key ${path}: readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    );
  }
  return parseSecretKey(readFileSync(path, 'utf8'), `--key ${path}`);
}
