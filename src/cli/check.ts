// `airlock check`: runs the policy engine on two directories or two git refs, exactly as the
// workflow's policy gate does. Exit 0 allow, 1 block, 2 bad invocation or unreadable input.
import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { checkChange } from '../policy/engine/check-change';
import type { ChangeTrees } from '../policy/engine/change-files';
import { decide } from '../policy/engine/finding';
import { parsePolicy, PolicyError, formatIssues } from '../policy/config/load';
import { directoryTree } from '../policy/engine/trees/directory-tree';
import { gitTree } from '../policy/engine/trees/git-tree';
import { TreeError } from '../policy/engine/trees/tree-error';
import { checkReport, renderFindings } from './check-output';
import { CliError, ExitCode } from './errors';

export const CHECK_BLOCKED = 1 as ExitCode;

export interface CheckIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CheckIo = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

const argsSchema = z
  .object({
    policy: z.string().min(1),
    base: z.string().min(1).optional(),
    head: z.string().min(1).optional(),
    repo: z.string().min(1).optional(),
    baseRef: z.string().min(1).optional(),
    headRef: z.string().min(1).optional(),
    json: z.boolean().optional(),
    now: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((a) => (a.base && a.head && !a.repo && !a.baseRef && !a.headRef) || (a.repo && a.baseRef && a.headRef && !a.base && !a.head), {
    message: 'give either --base DIR --head DIR, or --repo DIR --base-ref REF --head-ref REF',
  });

type CheckArgs = z.infer<typeof argsSchema>;

async function runCheck(args: CheckArgs, io: CheckIo): Promise<number> {
  let policyText: string;
  try {
    policyText = readFileSync(args.policy, 'utf8');
  } catch (err) {
    throw new CliError(`check: policy ${args.policy}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, ExitCode.Usage);
  }
  const { policy } = parsePolicy(policyText, args.policy);
  const root = resolve(args.repo ?? args.head!);
  const trees: ChangeTrees = args.repo
    ? { base: await gitTree(args.repo, args.baseRef!), head: await gitTree(args.repo, args.headRef!) }
    : { base: directoryTree(args.base!), head: directoryTree(args.head!) };
  // The policy file in use is forbidden to the change when it lives in the checked repository.
  const policyInRepo = relative(root, resolve(args.policy));
  const protectedPaths = policyInRepo.startsWith('..') ? [] : [policyInRepo.split(sep).join('/')];
  const findings = await checkChange(policy, trees, { protectedPaths, ...(args.now ? { now: new Date(args.now) } : {}) });
  io.out(args.json ? JSON.stringify(checkReport(findings), null, 2) : renderFindings(findings));
  return decide(findings) === 'block' ? CHECK_BLOCKED : ExitCode.Ok;
}

function toCheckError(err: unknown): unknown {
  if (err instanceof PolicyError) return new CliError(`check: ${err.message}`, ExitCode.Usage);
  if (err instanceof TreeError) return new CliError(`check: ${err.message}`, ExitCode.Usage);
  return err;
}

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
    .option('--json', 'print {"decision","findings"} as JSON')
    .action(async (_opts: unknown, command: Command) => {
      const parsed = argsSchema.safeParse(command.optsWithGlobals());
      if (!parsed.success) throw new CliError(`check: ${formatIssues(parsed.error.issues).join('; ')}`, ExitCode.Usage);
      try {
        setExit(await runCheck(parsed.data, io));
      } catch (err) {
        throw toCheckError(err);
      }
    });
}

/** `airlock check` on the main CLI. A block is reported as a CliError with exit code 1. */
export function registerCheckCommand(program: Command, io: CheckIo = stdio): void {
  configure(program.command('check'), io, (code) => {
    if (code === CHECK_BLOCKED) throw new CliError('check: the change is blocked (see the findings above)', CHECK_BLOCKED);
  });
}

/** Standalone runner: `tsx src/cli/check.ts --policy … --base … --head …`. Returns the exit code. */
export async function runCheckCli(argv: string[], io: CheckIo = stdio): Promise<number> {
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
