// Turns Temporal client errors into CLI errors with an exit code and the workflow's own words.
import { isGrpcServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { KeyFileError } from '../approvals/key-file';
import { isUnreachable, PromotionLookupError, type LookupErrorKind } from '../client/lookup-error';
import { CliError, ExitCode } from './errors';

export function toCliError(err: unknown, workflowId: string): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof KeyFileError) return new CliError(err.message, ExitCode.Usage);
  if (err instanceof PromotionLookupError) return new CliError(err.message, LOOKUP_EXIT[err.kind]);
  // History reads (fetchHistory) surface a missing execution as the raw gRPC status NOT_FOUND.
  const grpcNotFound = isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND;
  if (
    grpcNotFound ||
    err instanceof WorkflowNotFoundError ||
    (err as { name?: string })?.name === 'WorkflowNotFoundError'
  ) {
    return new CliError(`no promotion ${workflowId} (or it has ended and cannot take decisions)`, ExitCode.NotFound);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    return new CliError(`refused by ${workflowId}: ${cause}`, ExitCode.Refused);
  }
  if (isUnreachable(err))
    return new CliError(`Temporal unreachable: ${String((err as Error)?.message ?? err)}`, ExitCode.Unreachable);
  return err;
}

/** grpc.status.NOT_FOUND */
const GRPC_NOT_FOUND = 5;

const LOOKUP_EXIT: Record<LookupErrorKind, ExitCode> = {
  bad_target: ExitCode.Usage,
  ambiguous: ExitCode.Usage,
  not_found: ExitCode.NotFound,
  unreachable: ExitCode.Unreachable,
};
