// `airlock check`: runs the policy engine on two directories or two git refs, exactly as the
// workflow's policy gate does. Exit 0 allow, 1 block, 2 bad invocation or unreadable input.
// Only the options live here: the engine (zod, YAML, the rules) loads when the command runs
// (./check-run.ts), so `airlock --help` and the other commands never pay for it.
import { Command, CommanderError } from 'commander';
import { CliError, ExitCode } from './errors';
import { terminalSafeIo } from '../common/terminal-safe';

export const CHECK_BLOCKED = 1 as ExitCode;

export interface CheckIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CheckIo = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

/** Adds the check options and action to a command (the `check` subcommand or the standalone one). */
function configure(cmd: Command, io: CheckIo, setExit: (code: number) => void): Command {
  return cmd
    .description('check a change against the policy: exit 0 allow, 1 block, 2 bad invocation or unreadable input')
    .requiredOption('--policy <file>', 'the policy YAML')
    .option('--base <dir>', 'the tree before the change')
    .option('--head <dir>', 'the tree after the change')
    .option('--repo <dir>', 'a git clone to read refs from')
    .option('--base-ref <ref>', 'commit before the change (with --repo)')
    .option('--head-ref <ref>', 'commit after the change (with --repo)')
    .option('--now <iso-time>', 'evaluate planned-operation windows at this instant (default: now)')
    .option(
      '--format <format>',
      'text (grouped by file), json ({"decision","findings"}) or github (workflow-command annotations)',
    )
    .option('--json', 'the same as --format json')
    .action(async (_opts: unknown, command: Command) => {
      const { checkCommand } = await import('./check-run.js');
      setExit(await checkCommand(command.optsWithGlobals(), io));
    });
}

/** `airlock check` on the main CLI. A block is reported as a CliError with exit code 1. */
export function registerCheckCommand(program: Command, io: CheckIo = stdio): void {
  configure(program.command('check'), terminalSafeIo(io), (code) => {
    if (code === CHECK_BLOCKED)
      throw new CliError('check: the change is blocked (see the findings above)', CHECK_BLOCKED);
  });
}

/** Standalone runner: `tsx src/cli/check.ts --policy … --base … --head …`. Returns the exit code. */
export async function runCheckCli(argv: string[], rawIo: CheckIo = stdio): Promise<number> {
  const io = terminalSafeIo(rawIo); // paths and findings are untrusted text
  let code: number = ExitCode.Ok;
  const cmd = configure(new Command('airlock-check'), io, (c) => (code = c))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  try {
    await cmd.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    if (err instanceof CliError) {
      io.err(`airlock: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

if (require.main === module) {
  runCheckCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
