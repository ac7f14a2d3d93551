// Real processes for fault tests: a Temporal dev server on a SQLite file we can kill and restart,
// and the real worker (`src/worker/worker.ts`) as a child process we can SIGKILL. No mocks of Temporal.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../../src/dev/dev-server';
import type { DeployOperation } from '../../src/integrations/simulation/simulated-deployer';
import type { Environment } from '../../src/workflows/messages';
import { REPO_ROOT } from '../helpers/tools';
import { workflowBundle } from '../helpers/harness';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `airlock-${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Polls `probe` until it returns a value (not undefined); fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `waitFor: ${what} not reached after ${timeoutMs / 1000} s${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      );
    await sleep(everyMs);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

// ---- Temporal dev server --------------------------------------------------------------------------

export interface DevServerProcess {
  address: string;
  dbFile: string;
  logFile: string;
  client(): Promise<Client>;
  /** SIGKILL (or `signal`) the server and wait until it is gone; the SQLite file stays. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and the same SQLite file. */
  start(): Promise<void>;
  /** Closes the clients and stops the server for good. */
  close(): Promise<void>;
}

async function canConnect(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 1000 });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

export async function startDevServer(dir: string): Promise<DevServerProcess> {
  let port = await freePort();
  let address = `127.0.0.1:${port}`;
  const dbFile = join(dir, 'temporal.db');
  const logFile = join(dir, 'temporal.log');
  const binary = resolve(REPO_ROOT, '.tools/py/bin/temporal');
  if (!existsSync(binary)) throw new Error(`fault rig: ${binary} missing; run bash scripts/setup.sh`);
  let child: ChildProcess | undefined;
  const connections: Connection[] = [];

  const server: DevServerProcess = {
    address,
    dbFile,
    logFile,
    async start() {
      const args = [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--headless',
        '--db-filename',
        dbFile,
        '--log-level',
        'warn',
      ];
      args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
      // Each with its type: AirlockQueuePosition registered as Keyword failed the workflow task of a
      // promotion told its queue position, over and over (CI: the SIGKILL test's B never staged).
      args.push(...searchAttributeFlags());
      const c = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout!.on('data', (d) => appendFileSync(logFile, d));
      c.stderr!.on('data', (d) => appendFileSync(logFile, d));
      // Not waitFor: an exit must end the wait at once, not after its deadline.
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (c.exitCode !== null) throw new ServerExited(c.exitCode, logFile);
        if (await canConnect(address)) return;
        if (Date.now() > deadline) throw new Error(`dev server on ${address} not reached after 90 s; see ${logFile}`);
        await sleep(300);
      }
    },
    async stop(signal = 'SIGKILL') {
      if (!child) return;
      const c = child;
      child = undefined;
      c.kill(signal);
      await exited(c);
    },
    async client() {
      const connection = await Connection.connect({ address });
      connections.push(connection);
      return new Client({ connection, namespace: 'default' });
    },
    async close() {
      for (const c of connections) await c.close().catch(() => undefined);
      await server.stop('SIGKILL'); // a throwaway database: no graceful shutdown to wait for
    },
  };
  // The ports were free when picked, not necessarily when the server binds them (other tests start
  // servers too): a first start that exits at once is tried again on new ports, with a fresh file.
  for (let attempt = 1; ; attempt++) {
    try {
      await server.start();
      return server;
    } catch (err) {
      if (!(err instanceof ServerExited) || attempt === 3) throw err;
      appendFileSync(logFile, `\n--- attempt ${attempt} exited at once; retrying on new ports ---\n`);
      rmSync(dbFile, { force: true });
      port = await freePort();
      address = `127.0.0.1:${port}`;
      server.address = address;
    }
  }
}

/** The dev server process ended while it was awaited; the message carries its log's end (the dir may be gone by the report). */
class ServerExited extends Error {
  constructor(code: number, logFile: string) {
    let tail = '';
    try {
      tail = readFileSync(logFile, 'utf8').slice(-600);
    } catch {
      tail = '(no log)';
    }
    super(`temporal exited with ${code}; ${logFile} ends: ${tail}`);
  }
}

/** Removes a fault test's temporary directory unless AIRLOCK_KEEP_FAULT_DIRS asks to keep it for a post-mortem. */
export function removeDir(dir: string | undefined): void {
  if (dir && !process.env.AIRLOCK_KEEP_FAULT_DIRS) rmSync(dir, { recursive: true, force: true });
}

// ---- The real worker as a child process ----------------------------------------------------------

export interface WorkerProcess {
  pid: number;
  logFile: string;
  /** Resolves when the worker printed its start line (bundled, polling). */
  ready: Promise<void>;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerEnv {
  TEMPORAL_ADDRESS: string;
  AIRLOCK_POLICY: string;
  AIRLOCK_SIMULATION_STATE: string;
  AIRLOCK_TASK_QUEUE: string;
  AIRLOCK_SIMULATION_ROLLOUT_MS?: string;
  AIRLOCK_WORKFLOW_BUNDLE?: string;
}

/** Bundles the workflows once and writes the bundle where AIRLOCK_WORKFLOW_BUNDLE can point: restarts then skip bundling. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const { code } = await workflowBundle();
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}

/** `node --import tsx src/worker/worker.ts`: one process, so SIGKILL hits the worker itself, not a wrapper. */
export function spawnWorker(env: WorkerEnv, logFile: string): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'src/worker/worker.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_NAMESPACE: 'default', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((ok, fail) => {
    const onData = (d: Buffer) => {
      appendFileSync(logFile, d);
      output += d.toString();
      if (output.includes('airlock worker: task queue')) ok();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) =>
      fail(new Error(`worker exited (${code ?? signal}) before it was ready; see ${logFile}`)),
    );
  });
  ready.catch(() => undefined);
  return {
    pid: child.pid!,
    logFile,
    ready,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill(signal = 'SIGKILL') {
      child.kill(signal);
      await exited(child);
    },
  };
}

// ---- The simulated deployer's operation log (src/integrations/simulation/simulated-deployer.ts) ----------------

export interface LoggedOperation {
  op: DeployOperation;
  service: string;
  environment: Environment;
  version: string;
  phase: 'started' | 'ready';
  at: string;
  pid: number;
}

export function readOperationLog(stateFile: string): LoggedOperation[] {
  const file = `${stateFile}.operations.jsonl`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LoggedOperation);
}

export const stepOf = (o: Pick<LoggedOperation, 'op' | 'environment' | 'version'>) =>
  `${o.op}:${o.environment}:${o.version}`;
