// Runs one render tool as a child process and collects its output. An abort kills the child at
// once (SIGKILL: a renderer holds nothing worth a graceful stop) and rejects with the abort reason
// once it has exited, so the caller's temporary tree is not removed under a running process.
import { spawn } from 'node:child_process';

export interface ToolRun {
  stdout: string;
  stderr: string;
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
}

// A render is a few MB at most; beyond this something loops or a file is not a manifest.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export class ToolNotFoundError extends Error {}

export function runTool(
  executable: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<ToolRun> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<ToolRun>((resolve, reject) => {
    const child = spawn(executable, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let failure: unknown;
    const stop = (why: unknown) => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const onAbort = () => stop(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) stop(new Error(`printed more than ${MAX_OUTPUT_BYTES} bytes`));
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Not there, or not executable: no retry can fix either.
      failure ??= e.code === 'ENOENT' || e.code === 'EACCES' ? new ToolNotFoundError(`${executable}: ${e.code}`) : e;
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) return reject(failure);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code });
    });
  });
}
