// What `airlock check` does once its options are parsed (src/cli/check.ts registers the command and
// loads this module only when the command runs): validate the options, read the policy and the two
// trees, run the engine, print the findings, return 0 (allow) or 1 (block).
import { resolve } from 'node:path';
import { z } from 'zod';
import type { ChangeTrees } from '../policy/engine/change-files';
import { decide } from '../policy/engine/finding';
import { PolicyError, formatIssues } from '../policy/config/load';
import { directoryTree } from '../policy/engine/trees/directory-tree';
import { gitTree } from '../policy/engine/trees/git-tree';
import { TreeError } from '../policy/engine/trees/tree-error';
import { CHECK_BLOCKED, type CheckIo } from './check';
import { checkReport, renderFindings } from './check-output';
import { renderGithubCommands } from './check-github-output';
import { CliError, ExitCode } from './errors';
import { gateFindings, loadPolicyFile, policyProtectedPaths } from './policy-gate';

const argsSchema = z
  .object({
    policy: z.string().min(1),
    base: z.string().min(1).optional(),
    head: z.string().min(1).optional(),
    repo: z.string().min(1).optional(),
    baseRef: z.string().min(1).optional(),
    headRef: z.string().min(1).optional(),
    json: z.boolean().optional(),
    format: z.enum(['text', 'json', 'github']).optional(),
    now: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((a) => !a.json || !a.format || a.format === 'json', {
    message: '--json is --format json; give one of them',
    path: ['format'],
  })
  .refine(
    (a) =>
      (a.base && a.head && !a.repo && !a.baseRef && !a.headRef) ||
      (a.repo && a.baseRef && a.headRef && !a.base && !a.head),
    {
      message: 'give either --base DIR --head DIR, or --repo DIR --base-ref REF --head-ref REF',
    },
  );

type CheckArgs = z.infer<typeof argsSchema>;

async function runCheck(args: CheckArgs, io: CheckIo): Promise<number> {
  const policy = loadPolicyFile(args.policy, 'check');
  const root = resolve(args.repo ?? args.head!);
  const trees: ChangeTrees = args.repo
    ? { base: await gitTree(args.repo, args.baseRef!), head: await gitTree(args.repo, args.headRef!) }
    : { base: directoryTree(args.base!), head: directoryTree(args.head!) };
  const findings = await gateFindings(policy, trees, {
    protectedPaths: policyProtectedPaths(root, args.policy),
    ...(args.now ? { now: new Date(args.now) } : {}),
  });
  const format = args.format ?? (args.json ? 'json' : 'text');
  io.out(
    format === 'json'
      ? JSON.stringify(checkReport(findings), null, 2)
      : format === 'github'
        ? renderGithubCommands(findings, policy.approvers.required)
        : renderFindings(findings),
  );
  return decide(findings) === 'block' ? CHECK_BLOCKED : ExitCode.Ok;
}

function toCheckError(err: unknown): unknown {
  if (err instanceof PolicyError) return new CliError(`check: ${err.message}`, ExitCode.Usage);
  if (err instanceof TreeError) return new CliError(`check: ${err.message}`, ExitCode.Usage);
  return err;
}

/** The command's options (commander's optsWithGlobals) → exit code 0 or 1; usage errors throw a CliError (2). */
export async function checkCommand(opts: unknown, io: CheckIo): Promise<number> {
  const parsed = argsSchema.safeParse(opts);
  if (!parsed.success) throw new CliError(`check: ${formatIssues(parsed.error.issues).join('; ')}`, ExitCode.Usage);
  try {
    return await runCheck(parsed.data, io);
  } catch (err) {
    throw toCheckError(err);
  }
}
