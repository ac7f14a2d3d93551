// `airlock backtest`: the policy gate over every first-parent commit of a local clone (base = the
// commit's first parent), in one process, so a team sees what Airlock would have blocked over its
// history before adopting it. Exit 0 when it ran (blocked commits included: it is a report), 2 on
// bad input. Only the options and their validation live here; the engine loads when the command
// runs (./backtest-run.ts), so `airlock --help` never pays for it.
import type { Command } from 'commander';
import { CliError, ExitCode } from './errors';

export interface BacktestIo {
  out: (text: string) => void;
}

export interface BacktestArgs {
  repo: string;
  policy: string;
  /** --since as given, and the instant it names (a bare date is midnight UTC). */
  since?: { text: string; at: Date };
  /** picomatch globs; empty: every commit. */
  paths: string[];
  json: boolean;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 date or date-time with offset, or undefined when the text is not one (2026-02-30 included). */
export function parseIsoDate(text: string): Date | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  // Date.parse rolls 2026-02-30 over to March: the calendar fields must survive a round trip.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const at = new Date(m[7] ? text : `${text}T00:00:00Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

const usage = (message: string) => new CliError(`backtest: ${message}`, ExitCode.Usage);

/** Commander's options → validated arguments; the error names the option and the reason. */
export function backtestArgs(o: Record<string, unknown>): BacktestArgs {
  for (const name of ['repo', 'policy'] as const)
    if (typeof o[name] !== 'string' || !o[name].trim()) throw usage(`--${name} must name a path`);
  let since: BacktestArgs['since'];
  if (o.since !== undefined) {
    const text = String(o.since);
    const at = parseIsoDate(text);
    if (!at) throw usage(`--since "${text}" is not an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)`);
    since = { text, at };
  }
  const paths = (o.paths as string[] | undefined) ?? [];
  if (paths.some((p) => !p.trim())) throw usage('--paths: a glob must not be empty');
  return { repo: o.repo as string, policy: o.policy as string, ...(since ? { since } : {}), paths, json: !!o.json };
}

export function registerBacktestCommand(program: Command, io: BacktestIo): void {
  program
    .command('backtest')
    .description(
      'run the policy gate over every first-parent commit of a clone (base = parent) and report what it would have blocked: exit 0 when it ran, 2 on bad input',
    )
    .requiredOption('--repo <dir>', 'the local git clone (its HEAD history is walked)')
    .requiredOption('--policy <file>', 'the policy YAML')
    .option('--since <date>', 'only commits committed at or after this ISO date (YYYY-MM-DD is midnight UTC)')
    .option('--paths <glob...>', 'only commits that change a path matching one of these globs (picomatch)')
    .option('--json', 'print the report as JSON (docs/policy-engine.md#airlock-backtest)')
    .action(async (_o: unknown, command: Command) => {
      const args = backtestArgs(command.optsWithGlobals());
      const { backtest } = await import('./backtest-run.js');
      const { renderBacktest } = await import('./backtest-output.js');
      const report = await backtest(args);
      io.out(args.json ? JSON.stringify(report, null, 2) : renderBacktest(report));
    });
}
