// The CLI's exit codes (documented in docs/cli.md) and the one error class that carries them.
export const ExitCode = {
  Ok: 0,
  /** Unexpected failure (a bug or an outside system misbehaving). */
  Failure: 1,
  /** Bad arguments or input: nothing was sent. */
  Usage: 2,
  /** The workflow refused the decision (stage, identity, signature, duplicate). */
  Refused: 3,
  /** No such promotion. */
  NotFound: 4,
  /** Temporal could not be reached. */
  Unreachable: 5,
  /** `status --watch` followed a promotion that ended other than promoted. */
  NotPromoted: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
