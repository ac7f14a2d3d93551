// One way to reach Temporal for worker, CLI and server: the standard TEMPORAL_* environment
// variables and envconfig profiles (address, namespace, TLS, API key), and one data converter: the
// payload codec of AIRLOCK_CODEC_KEYS (docs/codec.md), so what one writes the others can read.
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from '../codec/data-converter';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';

export const DEFAULT_TASK_QUEUE = 'airlock';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

function connectConfig() {
  const config = loadClientConnectConfig();
  return { ...config, connectionOptions: { address: 'localhost:7233', ...config.connectionOptions } };
}

export function temporalTarget(): TemporalTarget {
  const c = connectConfig();
  return { address: c.connectionOptions.address ?? 'localhost:7233', namespace: c.namespace ?? 'default' };
}

/** `dataConverter`: the worker passes the one it gives its Worker; others read AIRLOCK_CODEC_* here. */
export async function connectClient(dataConverter: DataConverter = dataConverterFromEnv()): Promise<Client> {
  const c = connectConfig();
  const connection = await Connection.connect(c.connectionOptions);
  return new Client({ connection, namespace: c.namespace ?? 'default', dataConverter });
}

export async function connectWorkerConnection(): Promise<{ connection: NativeConnection; namespace: string }> {
  const c = connectConfig();
  const connection = await NativeConnection.connect(c.connectionOptions);
  return { connection, namespace: c.namespace ?? 'default' };
}
