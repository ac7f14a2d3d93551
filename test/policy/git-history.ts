// A throwaway git repository whose history a test writes commit by commit, each at a given
// committer date, with branches and merges: what `airlock backtest` walks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Path → content; null deletes the file. */
export type Edits = Record<string, string | null>;

export interface GitHistory {
  dir: string;
  /** Writes the edits and commits them at `date` (author and committer); returns the sha. */
  commit(edits: Edits, subject: string, date: string): string;
  /** Runs git in the repository (checkout, branch) and returns its trimmed output. */
  git(...args: string[]): string;
  /** `git merge --no-ff` of `branch` at `date`; returns the merge commit's sha. */
  merge(branch: string, subject: string, date: string): string;
  remove(): void;
}

export function gitHistory(): GitHistory {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-history-'));
  const run = (args: string[], date?: string) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      env: { ...process.env, ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}) },
    })
      .toString()
      .trim();
  run(['init', '-q', '-b', 'main']);
  const git = (...args: string[]) => run(args);
  return {
    dir,
    git,
    commit(edits, subject, date) {
      for (const [path, content] of Object.entries(edits)) {
        const full = join(dir, path);
        if (content === null) rmSync(full);
        else {
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      run(['add', '-A']);
      run(['commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', subject], date);
      return git('rev-parse', 'HEAD');
    },
    merge(branch, subject, date) {
      run(['merge', '-q', '--no-ff', '--no-gpg-sign', '-m', subject, branch], date);
      return git('rev-parse', 'HEAD');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A staging Deployment of `service` with `replicas`, in the fixture policy's service layout. */
export function deployment(service: string, replicas: number, env = 'staging'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${service}
  namespace: ${env}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${service} }
  template:
    metadata:
      labels: { app: ${service} }
    spec:
      containers:
        - name: ${service}
          image: registry.example.com/${service}:1.4.2
          resources:
            requests: { cpu: 250m, memory: 256Mi }
            limits: { memory: 256Mi }
`;
}
