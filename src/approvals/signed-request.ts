// Builds the signed approve / reject / abort / resolve / waive payloads that the CLI and the Slack bridge send.
// Signing side only (uses the platform's random source for the nonce): never called by workflows.
import type { AbortRequest, ApprovalRequest, RejectRequest, ResolveRequest, WaiveRequest } from '../workflows/messages';
import { encodeBase64 } from './base64';
import { signDecision, type DecisionAction, type DecisionBinding } from './decision-signature';

export interface SignInput {
  workflowId: string;
  approver: string;
  /** approve: the comment; reject / abort: the reason. Trimmed, as the workflow reads it. */
  text?: string;
  secretKey: Uint8Array;
  via?: 'cli' | 'slack';
  slackUser?: string;
  /** approve: the digest of the production change the approver saw (state.productionChange.digest). */
  changeDigest?: string;
  /** The promotion's commit and policy hash (bindingOf(state)): signed under v3 when present. */
  binding?: DecisionBinding;
  /** waive: the ids of the findings waived; `text` is the reason. */
  findings?: readonly string[];
  /** Signing time, ms since epoch; defaults to this machine's clock. */
  now?: number;
}

export function signedRequest(action: 'approve', i: SignInput): ApprovalRequest;
export function signedRequest(action: 'reject', i: SignInput): RejectRequest;
export function signedRequest(action: 'abort', i: SignInput): AbortRequest;
export function signedRequest(action: 'resolve', i: SignInput): ResolveRequest;
export function signedRequest(action: 'waive', i: SignInput): WaiveRequest;
export function signedRequest(
  action: DecisionAction,
  i: SignInput,
): ApprovalRequest | RejectRequest | AbortRequest | ResolveRequest | WaiveRequest {
  const approver = i.approver.trim();
  const text = i.text?.trim() || undefined;
  const via = i.via ?? 'cli';
  const nonce = encodeBase64(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const at = new Date(i.now ?? Date.now()).toISOString();
  const signature = signDecision(
    {
      workflowId: i.workflowId,
      action,
      approver,
      via,
      ...(i.slackUser ? { slackUser: i.slackUser } : {}),
      ...(text ? { text } : {}),
      ...(i.changeDigest !== undefined ? { changeDigest: i.changeDigest } : {}),
      ...(i.binding ? { binding: i.binding } : {}),
      ...(i.findings ? { findings: i.findings } : {}),
      at,
      nonce,
    },
    i.secretKey,
  );
  const common = { via, signature, ...(i.slackUser ? { slackUser: i.slackUser } : {}) };
  if (action === 'approve')
    return {
      approver,
      ...(text ? { comment: text } : {}),
      ...(i.changeDigest !== undefined ? { changeDigest: i.changeDigest } : {}),
      ...common,
    };
  if (!text) throw new Error(`${action}: a reason is required`);
  if (action === 'reject') return { approver, reason: text, ...common };
  if (action === 'resolve') return { approver, note: text, ...common };
  if (action === 'waive') return { by: approver, findings: [...(i.findings ?? [])], reason: text, ...common };
  return { by: approver, reason: text, ...common };
}
