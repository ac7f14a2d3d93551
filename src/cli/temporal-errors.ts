// Turns Temporal client errors into CLI errors with an exit code and the workflow's own words.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { KeyFileError } from '../approvals/key-file';
import { CliError, ExitCode } from './errors';

export function toCliError(err: unknown, workflowId: string): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof KeyFileError) return new CliError(err.message, ExitCode.Usage);
  if (err instanceof WorkflowNotFoundError || (err as { name?: string })?.name === 'WorkflowNotFoundError') {
    return new CliError(`no promotion ${workflowId} (or it has ended and cannot take decisions)`, ExitCode.NotFound);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    return new CliError(`refused by ${workflowId}: ${cause}`, ExitCode.Refused);
  }
  const msg = String((err as Error)?.message ?? err);
  if (/UNAVAILABLE|ECONNREFUSED|Failed to connect|connect ETIMEDOUT/i.test(msg)) {
    return new CliError(`Temporal unreachable: ${msg}`, ExitCode.Unreachable);
  }
  return err;
}
