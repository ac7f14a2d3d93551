// Why a promotion could not be shown or reached, in words for people. The CLI turns `kind` into its
// exit code, the server into a reply; neither needs the other's error type.
export type LookupErrorKind = 'bad_target' | 'not_found' | 'ambiguous' | 'unreachable';

export class PromotionLookupError extends Error {
  constructor(
    readonly kind: LookupErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PromotionLookupError';
  }
}

/** Temporal's "cannot connect" errors, whatever layer raised them (gRPC status or socket). */
export function isUnreachable(err: unknown): boolean {
  return /UNAVAILABLE|ECONNREFUSED|Failed to connect|connect ETIMEDOUT|14 UNAVAILABLE/i.test(
    String((err as Error)?.message ?? err),
  );
}
