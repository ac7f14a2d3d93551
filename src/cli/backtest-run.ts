// What `airlock backtest` does once its options are valid (src/cli/backtest.ts): list the
// first-parent history in one git call, then judge each commit against its first parent with the
// gate `airlock check` runs (./policy-gate.ts), all in this process. Each commit's head tree is the
// next commit's base, so every commit is listed once. Planned-operation windows are evaluated at
// each commit's committer date: the gate would have run when the change landed.
import { performance } from 'node:perf_hooks';
import picomatch from 'picomatch';
import { candidatePaths, changedSpecials, type ChangeTrees, type FileTree } from '../policy/engine/change-files';
import { gitTree, runGit } from '../policy/engine/trees/git-tree';
import { TreeError } from '../policy/engine/trees/tree-error';
import type { BacktestArgs } from './backtest';
import { checkReport, type CheckReport } from './check-output';
import { CliError, ExitCode } from './errors';
import { gateFindings, loadPolicyFile, policyProtectedPaths } from './policy-gate';

/** One commit judged against its first parent. The JSON contract (docs/policy-engine.md). */
export interface BacktestCommit extends CheckReport {
  sha: string;
  /** The first parent: the base the commit was judged against. */
  parent: string;
  /** Committer date (ISO 8601 with the committer's offset): the instant the gate is evaluated at. */
  date: string;
  subject: string;
}

export interface RuleCount {
  rule: string;
  /** Commits with at least one blocking finding of this rule. */
  blocked: number;
  /** Commits it was the only blocking rule for: tuning it alone would have let them through. */
  onlyBlocker: number;
  /** Commits with at least one warning of this rule. */
  warned: number;
}

export interface BacktestReport {
  version: 1;
  repo: string;
  policy: string;
  since: string | null;
  paths: string[];
  commits: BacktestCommit[];
  rules: RuleCount[];
  totals: { commits: number; allowed: number; blocked: number; medianMs: number; p95Ms: number };
}

interface LoggedCommit {
  sha: string;
  parent: string;
  date: string;
  subject: string;
}

const usage = (message: string) => new CliError(`backtest: ${message}`, ExitCode.Usage);

/** The first-parent history of HEAD, oldest first, root commit left out (it has no base). */
async function firstParentCommits(args: BacktestArgs): Promise<LoggedCommit[]> {
  const git = (gitArgs: string[]) => runGit(args.repo, gitArgs).then((b) => b.toString('utf8'));
  try {
    await git(['rev-parse', '--git-dir']);
  } catch (err) {
    throw usage(`--repo ${args.repo}: not a git repository (${(err as Error).message})`);
  }
  try {
    await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  } catch {
    throw usage(`--repo ${args.repo}: no commits in range (HEAD names no commit)`);
  }
  // `@<seconds>`: git reads an epoch exactly, where a bare date would take today's time of day.
  const since = args.since ? [`--since=@${Math.floor(args.since.at.getTime() / 1000)}`] : [];
  const log = await git([
    'rev-list',
    '--first-parent',
    '--reverse',
    '--no-commit-header',
    '--format=%H%x00%P%x00%cI%x00%s',
    ...since,
    'HEAD',
  ]);
  const commits = log
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, parents, date, subject = ''] = line.split('\0');
      return { sha, parent: parents.split(' ')[0], date, subject };
    })
    .filter((c) => c.parent);
  if (!commits.length)
    throw args.since
      ? usage(`--since ${args.since.text}: no commits in range (none but a root commit after that date)`)
      : usage(`--repo ${args.repo}: no commits in range (the history needs a commit after the root)`);
  return commits;
}

/** Nearest-rank percentile of a non-empty sample, rounded to 0.1 ms. */
function percentileMs(sorted: readonly number[], p: number): number {
  const at = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return Math.round(sorted[at - 1] * 10) / 10;
}

function ruleCounts(commits: readonly BacktestCommit[]): RuleCount[] {
  const counts = new Map<string, RuleCount>();
  const count = (rule: string) => {
    if (!counts.has(rule)) counts.set(rule, { rule, blocked: 0, onlyBlocker: 0, warned: 0 });
    return counts.get(rule)!;
  };
  for (const c of commits) {
    const blocking = new Set(c.findings.filter((f) => f.level === 'block').map((f) => f.rule));
    for (const rule of blocking) count(rule).blocked++;
    if (blocking.size === 1) count([...blocking][0]).onlyBlocker++;
    for (const rule of new Set(c.findings.filter((f) => f.level === 'warn').map((f) => f.rule))) count(rule).warned++;
  }
  return [...counts.values()].sort(
    (a, b) =>
      b.blocked - a.blocked || b.onlyBlocker - a.onlyBlocker || b.warned - a.warned || a.rule.localeCompare(b.rule),
  );
}

/** Whether the change touches a path the globs match (files and links/submodules alike). */
function touches(trees: ChangeTrees, matches: (path: string) => boolean): boolean {
  return candidatePaths(trees).some(matches) || changedSpecials(trees).some((e) => matches(e.path));
}

export async function backtest(args: BacktestArgs): Promise<BacktestReport> {
  const policy = loadPolicyFile(args.policy, 'backtest');
  const logged = await firstParentCommits(args);
  const protectedPaths = policyProtectedPaths(args.repo, args.policy);
  const matches = args.paths.length ? picomatch(args.paths, { dot: true }) : undefined;
  const commits: BacktestCommit[] = [];
  const timings: number[] = [];
  let previous: { sha: string; tree: FileTree } | undefined;
  try {
    for (const c of logged) {
      const started = performance.now();
      const base = previous?.sha === c.parent ? previous.tree : await gitTree(args.repo, c.parent);
      const head = await gitTree(args.repo, c.sha);
      previous = { sha: c.sha, tree: head };
      if (matches && !touches({ base, head }, matches)) continue;
      const findings = await gateFindings(policy, { base, head }, { protectedPaths, now: new Date(c.date) });
      timings.push(performance.now() - started);
      commits.push({ ...c, ...checkReport(findings) });
    }
  } catch (err) {
    if (err instanceof TreeError) throw usage(`--repo ${args.repo}: ${err.message}`);
    throw err;
  }
  if (!commits.length) throw usage(`--paths ${args.paths.join(' ')}: no commits in range change a matching path`);
  const blocked = commits.filter((c) => c.decision === 'block').length;
  const sorted = [...timings].sort((a, b) => a - b);
  return {
    version: 1,
    repo: args.repo,
    policy: args.policy,
    since: args.since?.text ?? null,
    paths: args.paths,
    commits,
    rules: ruleCounts(commits),
    totals: {
      commits: commits.length,
      allowed: commits.length - blocked,
      blocked,
      medianMs: percentileMs(sorted, 50),
      p95Ms: percentileMs(sorted, 95),
    },
  };
}
