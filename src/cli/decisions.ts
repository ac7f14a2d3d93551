// approve / reject / abort / resolve from the command line: signed with the approver's key, sent as Updates
// so the workflow's refusal reaches the caller at once. Also the API the demo calls.
import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { bindingOf, describeBinding } from '../approvals/decision-binding';
import type { DecisionBinding } from '../approvals/decision-signature';
import { signedRequest } from '../approvals/signed-request';
import {
  abortUpdate,
  approveUpdate,
  rejectUpdate,
  resolveUpdate,
  stateQuery,
  type AbortRequest,
  type ApprovalRequest,
  type ApprovalResult,
  type RejectRequest,
  type ResolveRequest,
} from '../workflows/messages';
import { CliError, ExitCode } from './errors';
import { parseSecretKey, readKeyFile } from '../approvals/key-file';
import { toCliError } from './temporal-errors';
import { changeDigestSchema } from '../workflows/payload-schemas';

export interface DecisionOptions {
  client: Client;
  workflowId: string;
  approver: string;
  /** A key file written by `airlock keygen`, or the base64 secret key itself. */
  keyFile?: string;
  privateKey?: Uint8Array | string;
  /** Signing time (ms); defaults to this machine's clock. Tests pass the server's skipped time. */
  now?: number;
}

export function secretKeyOf(o: Omit<DecisionOptions, 'client'>): Uint8Array | undefined {
  // Key files are shared with the server (src/approvals/key-file.ts); here a bad one is a usage error.
  try {
    if (o.privateKey instanceof Uint8Array) return o.privateKey;
    if (typeof o.privateKey === 'string') return parseSecretKey(o.privateKey, 'privateKey');
    if (o.keyFile) return readKeyFile(o.keyFile);
    return undefined;
  } catch (err) {
    throw toCliError(err, o.workflowId);
  }
}

export function requireApprover(action: string, o: Pick<DecisionOptions, 'approver'>): string {
  const approver = o.approver?.trim();
  if (!approver) throw new CliError(`${action}: --as APPROVER is required`, ExitCode.Usage);
  return approver;
}

export function requireReason(action: string, reason: string | undefined): string {
  const r = reason?.trim();
  if (!r) throw new CliError(`${action}: --reason is required`, ExitCode.Usage);
  return r;
}

export const signing = (
  o: Omit<DecisionOptions, 'client'>,
  secretKey: Uint8Array,
  text: string | undefined,
  binding?: DecisionBinding,
) => ({
  workflowId: o.workflowId,
  approver: o.approver,
  text,
  secretKey,
  via: 'cli' as const,
  ...(binding ? { binding } : {}),
  ...(o.now !== undefined ? { now: o.now } : {}),
});

/** What a signed decision was signed for, returned so the person sees which commit and policy it binds. */
export interface SignedFor {
  signedFor?: DecisionBinding;
}

/**
 * Sends a reject / abort / resolve. When it is signed, it binds the commit and policy hash read from
 * the promotion's own state (none while the gate runs: such a stop is signed without them).
 */
async function sendDecision<R>(
  o: DecisionOptions,
  update: UpdateDefinition<{ accepted: true }, [R]>,
  req: { key?: Uint8Array; build: (binding?: DecisionBinding) => R },
): Promise<{ accepted: true } & SignedFor> {
  try {
    const handle = o.client.workflow.getHandle(o.workflowId);
    const binding = req.key ? bindingOf(await handle.query(stateQuery)) : undefined;
    const r = await handle.executeUpdate(update, { args: [req.build(binding)] });
    return { ...r, ...signedFor(binding) };
  } catch (err) {
    throw toCliError(err, o.workflowId);
  }
}

/** For the line the CLI prints: which commit and policy (short forms) the person signed for. */
export const describeSignedFor = (r: SignedFor): string =>
  r.signedFor ? ` (signed for ${describeBinding(r.signedFor)})` : '';

export const signedFor = (binding: DecisionBinding | undefined): SignedFor => (binding ? { signedFor: binding } : {});

// Without a key the request goes unsigned: the workflow refuses it for approve (docs/approvals.md)
// and accepts it for a stop, which only ever makes things safer.
function approvalRequest(
  o: DecisionOptions,
  key: Uint8Array | undefined,
  comment: string | undefined,
  changeDigest: string | undefined,
  binding: DecisionBinding | undefined,
): ApprovalRequest {
  const approver = requireApprover('approve', o);
  const digest = changeDigest !== undefined ? { changeDigest } : {};
  if (key) return signedRequest('approve', { ...signing(o, key, comment, binding), ...digest });
  return { approver, via: 'cli', ...(comment?.trim() ? { comment: comment.trim() } : {}), ...digest };
}

/** Checks the input before anything is contacted; returns the request once the binding is read. */
function rejectRequest(o: DecisionOptions, reason: string | undefined) {
  const approver = requireApprover('reject', o);
  const r = requireReason('reject', reason);
  const key = secretKeyOf(o);
  return {
    key,
    build: (binding?: DecisionBinding): RejectRequest =>
      key ? signedRequest('reject', signing(o, key, r, binding)) : { approver, reason: r, via: 'cli' },
  };
}

function abortRequest(o: DecisionOptions, reason: string | undefined) {
  const by = requireApprover('abort', o);
  const r = requireReason('abort', reason);
  const key = secretKeyOf(o);
  return {
    key,
    build: (binding?: DecisionBinding): AbortRequest =>
      key ? signedRequest('abort', signing(o, key, r, binding)) : { by, reason: r, via: 'cli' },
  };
}

/**
 * Approves the production change with digest `changeDigest` (what `airlock diff` and `status`
 * showed); without one, the change the promotion shows now, whose digest the result names.
 */
export async function approve(
  o: DecisionOptions & { comment?: string; changeDigest?: string },
): Promise<ApprovalResult & { changeDigest?: string } & SignedFor> {
  if (o.changeDigest !== undefined && !changeDigestSchema.safeParse(o.changeDigest).success)
    throw new CliError(
      `approve: --change "${o.changeDigest}" must be sha256: and 64 hex digits (airlock diff prints it)`,
      ExitCode.Usage,
    );
  requireApprover('approve', o);
  const key = secretKeyOf(o); // a bad key is refused before anything is sent
  try {
    const handle = o.client.workflow.getHandle(o.workflowId);
    const state = await handle.query(stateQuery);
    const changeDigest = o.changeDigest ?? state.productionChange?.digest;
    const binding = key ? bindingOf(state) : undefined;
    const r = await handle.executeUpdate(approveUpdate, {
      args: [approvalRequest(o, key, o.comment, changeDigest, binding)],
    });
    return { ...r, ...(changeDigest ? { changeDigest } : {}), ...signedFor(binding) };
  } catch (err) {
    throw toCliError(err, o.workflowId);
  }
}

export async function reject(o: DecisionOptions & { reason: string }): Promise<{ accepted: true } & SignedFor> {
  return sendDecision(o, rejectUpdate, rejectRequest(o, o.reason));
}

export async function abort(o: DecisionOptions & { reason: string }): Promise<{ accepted: true } & SignedFor> {
  return sendDecision(o, abortUpdate, abortRequest(o, o.reason));
}

function resolveRequest(o: DecisionOptions, note: string | undefined) {
  const approver = requireApprover('resolve', o);
  const n = note?.trim();
  if (!n) throw new CliError('resolve: --note is required (what you did about what was left deployed)', ExitCode.Usage);
  const key = secretKeyOf(o);
  // Unsigned, the workflow refuses it: resolving releases the service's slot.
  return {
    key,
    build: (binding?: DecisionBinding): ResolveRequest =>
      key ? signedRequest('resolve', signing(o, key, n, binding)) : { approver, note: n, via: 'cli' },
  };
}

/** A failed rollback was dealt with by hand: the promotion ends and releases the service's slot. */
export async function resolve(o: DecisionOptions & { note: string }): Promise<{ accepted: true } & SignedFor> {
  return sendDecision(o, resolveUpdate, resolveRequest(o, o.note));
}
