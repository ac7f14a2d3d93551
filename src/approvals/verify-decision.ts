// Who really sent a decision: the identity rules Airlock applies inside the workflow (update
// validators and signal handlers), after authorizeHuman has said the named person may decide.
// Pure and deterministic: workflow time and the set of used signatures are passed in.
import type { PromotionSettings } from '../policy/config/schema';
import { describeBinding } from './decision-binding';
import {
  verifyDecisionSignature,
  type DecisionAction,
  type DecisionBinding,
  type DecisionSignature,
} from './decision-signature';

export interface SignedRequest {
  approver: string;
  via?: string;
  slackUser?: string;
  text?: string;
  /** The production change the approver approves (approve only; see DecisionClaim.changeDigest). */
  changeDigest?: string;
  /** waive: the ids of the findings waived (see DecisionClaim.findings). */
  findings?: readonly string[];
  signature?: DecisionSignature;
}

/** How the identity was established; recorded with the decision. */
export type Attribution = 'approver-key' | 'slack-bridge' | 'unsigned';

export type DecisionCheck = { ok: true; attribution: Attribution } | { ok: false; reason: string };

export interface IdentityContext {
  workflowId: string;
  action: DecisionAction;
  settings: PromotionSettings;
  now: number;
  usedSignatures: ReadonlySet<string>;
  /** This promotion's own commit and policy hash (never the request's); undefined before the gate decided. */
  binding?: DecisionBinding;
  /** Refuse signatures that do not cover `binding` (v1 / v2); false for histories before it. */
  requireBinding?: boolean;
}

export function checkDecisionIdentity(req: SignedRequest, ctx: IdentityContext): DecisionCheck {
  const { action, settings } = ctx;
  const refuse = (reason: string): DecisionCheck => ({ ok: false, reason: `${action}: ${reason}` });
  const entry = settings.approvers.allowed.find((a) => a.id === req.approver);
  const sig = req.signature;
  const requireSignature = settings.approvers.requireSignature ?? true;

  if (req.via === 'slack') {
    // Only the server that verified Slack's request holds the bridge key: a raw signal saying
    // via: 'slack' has no valid bridge signature and is refused.
    const bridgeKey = settings.integrations?.slack?.bridgePublicKey;
    if (!bridgeKey) return refuse('via slack, but the policy has no integrations.slack.bridgePublicKey');
    if (!sig) return refuse('via slack, but the request carries no bridge signature');
    if (!entry?.slack || entry.slack !== req.slackUser) {
      return refuse(
        `Slack user ${req.slackUser ?? '(none)'} is not the Slack id of "${req.approver}" in approvers.allowed`,
      );
    }
    return checkSignature(req, sig, bridgeKey, 'slack-bridge', ctx, refuse);
  }
  if (sig) {
    if (!entry?.publicKey)
      return refuse(`"${req.approver}" has no publicKey in approvers.allowed, so a signature cannot be checked`);
    return checkSignature(req, sig, entry.publicKey, 'approver-key', ctx, refuse);
  }
  // Stopping only ever makes things safer, and anyone who can signal can also cancel the workflow
  // (which Airlock treats as an abort): unsigned reject / abort stay possible at 3 AM.
  if (action === 'reject' || action === 'abort') return { ok: true, attribution: 'unsigned' };
  // Resolving a failed rollback releases the service's slot: like an approval, it must be signed.
  if (action === 'resolve')
    return refuse('unsigned; resolving a failed rollback must be signed (airlock resolve --key)');
  // A waiver lifts a block: never on a name alone, whatever approvers.requireSignature says.
  if (action === 'waive') return refuse('unsigned; a waiver must be signed (airlock waive --key)');
  if (entry?.publicKey)
    return refuse(
      `unsigned; "${req.approver}" has a publicKey in the policy, so approvals must be signed (airlock approve --key)`,
    );
  if (requireSignature)
    return refuse(
      'unsigned; approvers.requireSignature is on, so approvals must be signed (airlock approve --key, or Slack)',
    );
  return { ok: true, attribution: 'unsigned' };
}

function checkSignature(
  req: SignedRequest,
  sig: DecisionSignature,
  publicKey: string,
  attribution: Attribution,
  ctx: IdentityContext,
  refuse: (reason: string) => DecisionCheck,
): DecisionCheck {
  if (typeof sig.at !== 'string' || typeof sig.nonce !== 'string' || typeof sig.value !== 'string') {
    return refuse('signature: must have string fields at, nonce and value');
  }
  const at = Date.parse(sig.at);
  if (Number.isNaN(at)) return refuse(`signature.at: "${sig.at}" is not an ISO-8601 time`);
  const windowMs = (ctx.settings.approvers.signatureWindowMinutes ?? 10) * 60_000;
  const skewMinutes = Math.round((ctx.now - at) / 60_000);
  if (Math.abs(ctx.now - at) > windowMs) {
    return refuse(
      `signature.at ${sig.at} is ${Math.abs(skewMinutes)} min ${skewMinutes >= 0 ? 'old' : 'in the future'}; the window is ±${windowMs / 60_000} min of workflow time`,
    );
  }
  if (ctx.usedSignatures.has(sig.value)) return refuse('signature was already used once (replay)');
  const claim = {
    workflowId: ctx.workflowId,
    action: ctx.action,
    approver: req.approver,
    via: req.via ?? 'cli',
    ...(req.slackUser ? { slackUser: req.slackUser } : {}),
    ...(req.text ? { text: req.text } : {}),
    ...(req.changeDigest !== undefined ? { changeDigest: req.changeDigest } : {}),
    ...(req.findings ? { findings: req.findings } : {}),
    at: sig.at,
    nonce: sig.nonce,
  };
  if (ctx.binding && verifyDecisionSignature({ ...claim, binding: ctx.binding }, sig.value, publicKey))
    return { ok: true, attribution };
  // A waiver has no unbound form: it is only ever signed over this promotion's commit and policy.
  const unbound = ctx.action !== 'waive' && verifyDecisionSignature(claim, sig.value, publicKey);
  if (unbound && !(ctx.requireBinding && ctx.binding)) return { ok: true, attribution };
  const whose = attribution === 'slack-bridge' ? 'the Slack bridge key' : `the public key of "${req.approver}"`;
  if (!ctx.binding)
    return refuse(
      `signature does not verify with ${whose} for this promotion, action and approver (forged or altered)`,
    );
  const bound = describeBinding(ctx.binding);
  if (unbound)
    return refuse(
      `signature covers no commit or policy hash (signed before airlock-decision-v3); this promotion accepts only ` +
        `signatures over its own ${bound}: sign again with an up-to-date airlock`,
    );
  const covered = ctx.action === 'waive' ? 'action, approver, findings and reason' : 'action and approver';
  return refuse(
    `signature does not verify with ${whose} for this promotion's ${bound}, ${covered}: forged or ` +
      `altered, or it covers a different commit/policy than this promotion's (stale)`,
  );
}
