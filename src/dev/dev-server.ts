// The local Temporal dev server of `npm start` and `npm run demo`: the Temporal CLI from
// .tools/py (scripts/install-temporal.sh), state in a SQLite file so a restart resumes every bake.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { registerSearchAttributes } from '../client/search-attribute-setup';
import { SearchAttributeType } from '@temporalio/common';
import { AIRLOCK_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { packageRoot } from '../worker/package-root';

const REPO_ROOT = packageRoot();

/** The dev server's `--search-attribute` flags, each with its own type (an Int registered as Keyword fails every upsert of it). */
export function searchAttributeFlags(): string[] {
  return AIRLOCK_SEARCH_ATTRIBUTES.flatMap((k) => [
    '--search-attribute',
    `${k.name}=${k.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`,
  ]);
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The child we started, or undefined when a server was already listening. */
  process?: ChildProcess;
}

function temporalBinary(): string {
  const local = resolve(REPO_ROOT, '.tools/py/bin/temporal');
  if (!existsSync(local)) spawnSync('bash', [resolve(REPO_ROOT, 'scripts/install-temporal.sh')], { stdio: 'inherit' });
  return existsSync(local) ? local : 'temporal';
}

async function tryConnect(address: string): Promise<Connection | undefined> {
  try {
    return await Connection.connect({ address, connectTimeout: 1000 });
  } catch {
    return undefined;
  }
}

/** Reuses a server already on `port`, or starts the dev server with Airlock's search attributes. */
export async function ensureDevServer(
  opts: {
    port?: number;
    uiPort?: number;
    dbFile?: string;
    /** The codec server the Web UI decodes payloads with (`npm run codec-server`, docs/codec.md). */
    uiCodecEndpoint?: string;
  } = {},
): Promise<DevServer> {
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://localhost:${uiPort}`;
  const existing = await tryConnect(address);
  if (existing) {
    await registerSearchAttributes(existing, 'default').catch(() => undefined); // already there is fine
    await existing.close();
    return { address, uiUrl };
  }
  const dbFile = opts.dbFile ?? resolve(REPO_ROOT, '.airlock/temporal.db');
  mkdirSync(resolve(dbFile, '..'), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    dbFile,
    '--log-level',
    'warn',
  ];
  args.push(...searchAttributeFlags());
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  const child = spawn(temporalBinary(), args, { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`dev server: temporal exited with code ${child.exitCode}`);
    const c = await tryConnect(address);
    if (c) {
      await c.close();
      return { address, uiUrl, process: child };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill();
  throw new Error(`dev server: nothing listening on ${address} after 60 s`);
}
