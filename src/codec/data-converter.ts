// The one data converter every Temporal client and worker of Airlock is made with: the encryption
// codec when keys are configured, the SDK's default (payloads in clear) otherwise.
import type { DataConverter } from '@temporalio/common';
import { loadCodecConfig, type CodecConfig } from './codec-keys';
import { createEncryptionCodec } from './encryption-codec';

export function createDataConverter(config: CodecConfig): DataConverter {
  return config.keys ? { payloadCodecs: [createEncryptionCodec(config.keys)] } : {};
}

export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return createDataConverter(loadCodecConfig(env));
}

/** What the worker prints at start: one line when encrypted, a loud block when not. */
export function codecStartupNotice(config: CodecConfig): { level: 'info' | 'warn'; text: string } {
  if (config.keys)
    return {
      level: 'info',
      text: `airlock codec: payloads encrypted (AES-256-GCM, key id "${config.keys.activeKeyId}", ${config.keys.keys.size} key(s) can decrypt)`,
    };
  return {
    level: 'warn',
    text: [
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! airlock codec OFF: workflow payloads are stored in Temporal history IN CLEAR.  !!',
      '!! Snapshots (env values of pod templates), approvals and diffs are readable by   !!',
      '!! anyone who can read the namespace. Set AIRLOCK_CODEC_KEYS (docs/codec.md), and !!',
      '!! AIRLOCK_CODEC_REQUIRED=1 in production so a missing key refuses to start.      !!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    ].join('\n'),
  };
}
