// Approver key files: a base64 raw ed25519 secret key, owner-readable only (like ssh keys).
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeBase64, encodeBase64 } from '../approvals/base64';
import { publicKeyOf } from '../approvals/decision-signature';
import { CliError, ExitCode } from './errors';

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
  if (existsSync(out)) throw new CliError(`keygen: --out ${out} already exists; refusing to overwrite a key`, ExitCode.Usage);
  const { secretKey, publicKey } = generateKeyPair();
  writeFileSync(out, `${encodeBase64(secretKey)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(out, 0o600);
  return { path: out, publicKey };
}

export function parseSecretKey(text: string, source: string): Uint8Array {
  const key = decodeBase64(text.trim());
  if (!key || key.length !== 32) throw new CliError(`${source}: must hold a base64 raw 32-byte ed25519 secret key (airlock keygen writes one)`, ExitCode.Usage);
  return key;
}

export function readKeyFile(path: string): Uint8Array {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new CliError(`--key ${path}: no such file`, ExitCode.Usage);
  }
  // A key others can read is a key others can sign with.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new CliError(`--key ${path}: readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`, ExitCode.Usage);
  }
  return parseSecretKey(readFileSync(path, 'utf8'), `--key ${path}`);
}
