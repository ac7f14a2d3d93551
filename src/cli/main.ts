// The `airlock` command. Parses arguments with commander, connects to Temporal with the worker's
// settings (TEMPORAL_* / envconfig) only for commands that need it, and exits with docs/cli.md codes.
// Each command loads its modules when it runs (`await import`): `airlock --help` and `airlock check`
// never load the Temporal client, and the other commands never load the policy engine.
import { Command, CommanderError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { registerBacktestCommand } from './backtest';
import { registerCheckCommand } from './check';
import { CliError, ExitCode } from './errors';
import { terminalSafeIo } from '../common/terminal-safe';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Injected by tests; otherwise a client from the environment. */
  client?: () => Promise<Client>;
}

/** commander: a repeatable option collects its values. */
const collect = (value: string, previous: string[]) => [...previous, value];

const defaultIo: CliIo = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

export function buildProgram(
  rawIo: CliIo = defaultIo,
  setExit: (code: number) => void = (c) => (process.exitCode = c),
): Command {
  // Everything the CLI prints passes here: titles, paths and reasons are untrusted text.
  const io = terminalSafeIo(rawIo);
  let client: Client | undefined;
  const connect = async () =>
    (client ??= await (io.client ?? (await import('../client/temporal-connection.js')).connectClient)());
  const print = (json: boolean, value: unknown, human: string) => io.out(json ? JSON.stringify(value, null, 2) : human);
  const key = () =>
    new Option('--key <file>', 'ed25519 secret key file written by `airlock keygen`').env('AIRLOCK_KEY_FILE');
  const as = () =>
    new Option('--as <approver>', 'your approver id in the policy').env('AIRLOCK_APPROVER').makeOptionMandatory();

  const program = new Command('airlock')
    .description('Gated promotion of AI-agent infrastructure changes (exit codes: docs/cli.md)')
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const json = () => Boolean(program.opts().json);

  program
    .command('keygen')
    .description('generate an approver key pair; prints the policy lines that make it an approver')
    .requiredOption('--out <file>', 'where to write the secret key (mode 600, never overwritten)')
    .option('--id <approver>', 'the approver id these lines give the key (default: a placeholder to fill in)')
    .action(async (o: { out: string; id?: string }) => {
      const id = o.id?.trim();
      if (o.id !== undefined && !id) throw new CliError('keygen: --id must be a non-empty approver id', ExitCode.Usage);
      const { keygen } = await import('../approvals/key-file.js');
      const k = keygen(o.out);
      // The exact YAML to paste under approvers.allowed: an approver without a publicKey can never approve.
      const policyLines = [
        `    - id: ${JSON.stringify(id ?? '<your-approver-id>')}`,
        `      publicKey: ${JSON.stringify(k.publicKey)}`,
      ];
      print(
        json(),
        { ...k, policyLines },
        [
          `secret key written to ${k.path} (mode 600: keep it private; airlock approve --key ${k.path})`,
          'add these lines under approvers.allowed in the policy file (AIRLOCK_POLICY), then restart the worker:',
          ...policyLines,
        ].join('\n'),
      );
    });

  program
    .command('status [target]')
    .description('one promotion (service name or workflow id): stage, bake progress, approvals')
    .option('--watch', 'follow until it ends; exit 0 if promoted, 6 otherwise')
    .option('--interval <seconds>', 'refresh interval of --watch', '2')
    .action(async (target: string | undefined, o: { watch?: boolean; interval: string }) => {
      if (!target)
        throw new CliError('status: name a service or a workflow id (airlock list shows them)', ExitCode.Usage);
      const seconds = Number(o.interval);
      if (!(seconds >= 0.1 && seconds <= 3600))
        throw new CliError(
          `status: --interval "${o.interval}" must be a number of seconds from 0.1 to 3600`,
          ExitCode.Usage,
        );
      const { status } = await import('./status.js');
      setExit(
        await status(await connect(), target, {
          json: json(),
          watch: Boolean(o.watch),
          intervalMs: seconds * 1000,
          out: io.out,
        }),
      );
    });

  program
    .command('diff <target>')
    .description('the whole production diff and Terraform plans a promotion asks approval for, with their digest')
    .action(async (target: string) => {
      const { productionDiff, renderProductionChange } = await import('./diff.js');
      const { workflowId, preview } = await productionDiff(await connect(), target);
      print(json(), { workflowId, ...preview }, renderProductionChange(workflowId, preview));
    });

  program
    .command('list')
    .description('promotions in flight, queued, and ended in the last 7 days')
    .action(async () => {
      const { listPromotions, renderList } = await import('./list.js');
      const l = await listPromotions(await connect());
      print(json(), l, renderList(l));
    });

  const decision = (name: 'approve' | 'reject' | 'abort' | 'resolve' | 'waive', description: string) =>
    program.command(`${name} <target>`).description(description).addOption(as()).addOption(key());
  /** The Temporal client, the promotion's workflow id, and the signed decisions of src/cli/decisions.ts. */
  const decide = async (target: string) => {
    const [c, { resolveWorkflowId }, decisions] = await Promise.all([
      connect(),
      import('./resolve-target.js'),
      import('./decisions.js'),
    ]);
    return { c, workflowId: await resolveWorkflowId(c, target), ...decisions };
  };
  decision('approve', 'approve a promotion awaiting approval (signed with --key)')
    .option('--comment <text>', 'why you approve; signed with the decision')
    .option(
      '--change <digest>',
      'the production change you reviewed (airlock diff prints its digest); refused if production changed since. Default: the one shown now',
    )
    .action(async (target: string, o: { as: string; key?: string; comment?: string; change?: string }) => {
      const { c, workflowId, approve, describeSignedFor } = await decide(target);
      const r = await approve({
        client: c,
        workflowId,
        approver: o.as,
        keyFile: o.key,
        comment: o.comment,
        ...(o.change !== undefined ? { changeDigest: o.change } : {}),
      });
      print(
        json(),
        r,
        `approved ${workflowId}${r.changeDigest ? ` (production change ${r.changeDigest})` : ''}${describeSignedFor(r)}: ${r.approvals.length}/${r.required}${r.complete ? ' — complete, production rollout follows' : ''}`,
      );
    });
  decision('reject', 'reject a promotion: everything deployed is rolled back')
    .requiredOption('--reason <text>', 'why; signed with the decision')
    .action(async (target: string, o: { as: string; key?: string; reason: string }) => {
      const { c, workflowId, reject, describeSignedFor } = await decide(target);
      const r = await reject({ client: c, workflowId, approver: o.as, keyFile: o.key, reason: o.reason });
      print(json(), { workflowId, ...r }, `rejected ${workflowId}${describeSignedFor(r)}: rolling back`);
    });
  decision('abort', 'abort a promotion at any stage: everything deployed is rolled back')
    .requiredOption('--reason <text>', 'why; signed with the decision')
    .action(async (target: string, o: { as: string; key?: string; reason: string }) => {
      const { c, workflowId, abort, describeSignedFor } = await decide(target);
      const r = await abort({ client: c, workflowId, approver: o.as, keyFile: o.key, reason: o.reason });
      print(json(), { workflowId, ...r }, `aborted ${workflowId}${describeSignedFor(r)}: rolling back`);
    });

  decision('resolve', 'after a failed rollback (rollback_failed): say, signed, what you did by hand; releases the slot')
    .requiredOption('--note <text>', 'what you restored or checked; signed with the decision')
    .action(async (target: string, o: { as: string; key?: string; note: string }) => {
      const { c, workflowId, resolve, describeSignedFor } = await decide(target);
      const r = await resolve({ client: c, workflowId, approver: o.as, keyFile: o.key, note: o.note });
      print(json(), { workflowId, ...r }, `resolved ${workflowId}${describeSignedFor(r)}: the slot is released`);
    });

  decision('waive', 'waive blocking findings of a promotion awaiting waivers (signed with --key)')
    .option('--finding <id>', 'a finding id to waive; repeat for each (airlock status lists them)', collect, [])
    .option('--reason <text>', 'why these findings may be lifted for this change; signed with the waiver')
    .action(async (target: string, o: { as: string; key?: string; finding: string[]; reason?: string }) => {
      // Bad options are refused before the promotion is contacted.
      const { waive, checkWaiveOptions } = await import('./waive.js');
      const request = { approver: o.as, keyFile: o.key, findings: o.finding, reason: o.reason };
      checkWaiveOptions({ workflowId: target, ...request });
      const { c, workflowId, describeSignedFor } = await decide(target);
      const r = await waive({ client: c, workflowId, ...request });
      const left = r.complete
        ? ' — every blocking finding is waived; the promotion goes on to staging'
        : `; still waiting: ${r.waiting.join(', ')}`;
      print(
        json(),
        { workflowId, ...r },
        `waived ${o.finding.join(', ')} of ${workflowId}${describeSignedFor(r)}${left}`,
      );
    });

  program
    .command('report')
    .description('the scoreboard: started, promoted, rolled back, blocked, interventions, merge → production')
    .option('--since <period>', 'how far back, e.g. 30d or 12h', '30d')
    .action(async (o: { since: string }) => {
      const { computeReport, parseSince, renderReport } = await import('./report.js');
      const sinceMs = parseSince(o.since); // bad input is refused before anything is contacted
      const b = await computeReport(await connect(), sinceMs);
      print(json(), b, renderReport(b));
    });

  program
    .command('rbac')
    .description('print the Kubernetes RBAC the deployer needs for a policy (kubectl apply -f -)')
    .requiredOption('--policy <file>', 'the policy YAML')
    .option('--user <name>', 'kubeconfig user Airlock deploys as (default airlock-deployer)')
    .option('--service-account <namespace/name>', 'or the ServiceAccount it deploys as')
    .option('--capacity-user <name>', 'also print the read-only airlock-capacity-reader, bound to this user')
    .action(async (o: { policy: string; user?: string; serviceAccount?: string; capacityUser?: string }) => {
      const { rbacCommand } = await import('./rbac.js');
      io.out(rbacCommand(o).trimEnd());
    });

  registerCheckCommand(program, rawIo); // `airlock check`: the policy engine's command (src/cli/check.ts)
  registerBacktestCommand(program, io); // `airlock backtest`: the gate over a clone's history (src/cli/backtest.ts)
  return program;
}

/** Runs the CLI and returns its exit code; never calls process.exit itself. */
export async function runCli(argv: string[], rawIo: CliIo = defaultIo): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = buildProgram(rawIo, (c) => (code = c));
  const io = terminalSafeIo(rawIo);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    // A CliError is final; anything else may be a Temporal client error (loaded only then).
    const e = err instanceof CliError ? err : (await import('./temporal-errors.js')).toCliError(err, '');
    if (e instanceof CliError) {
      io.err(`airlock: ${e.message}`);
      return e.exitCode;
    }
    io.err(`airlock: ${(e as Error)?.stack ?? String(e)}`);
    return ExitCode.Failure;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(ExitCode.Failure);
    },
  );
}
