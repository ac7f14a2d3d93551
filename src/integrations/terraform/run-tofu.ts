// One tofu command as a child process, non-interactive and offline-friendly, that a cancellation
// interrupts the way an operator's Ctrl-C would: SIGINT, so tofu stops gracefully, writes the state
// it has and releases its lock; the call waits for it to exit before rejecting with the abort reason.
// A second signal or SIGKILL could leave a held lock or lost state, so none is ever sent.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TofuResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Inherited settings that would silently change which workspace, data dir or flags a run uses.
const OVERRIDDEN = /^TF_(WORKSPACE|DATA_DIR|CLI_ARGS(_.*)?)$/;

export function tofuEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!OVERRIDDEN.test(k)) env[k] = v;
  // A CLI config that does not exist makes tofu print a warning on stdout, ahead of `show -json`'s
  // JSON; without it tofu reads ~/.tofurc as usual.
  if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) delete env.TF_CLI_CONFIG_FILE;
  // Automation output, no prompts, no version check over the network.
  return { ...env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
}

export function runTofu(
  tofu: string,
  args: string[],
  { cwd, signal }: { cwd: string; signal?: AbortSignal | undefined },
): Promise<TofuResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(tofu, args, { cwd, env: tofuEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const onAbort = () => child.kill('SIGINT');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason);
      resolve({
        code: code ?? (killedBy ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
