// `waive` (an Update, and a Signal of the same payload): a signed waiver lifting blocking findings
// of a promotion in stage awaiting_waiver. Judged like an approval (allowed approver, never an
// author, a signature over this promotion's commit, policy, findings and reason, counted once, the
// bridge cap, revocation), and every refusal of a well-formed waiver is recorded in state.refusals.
import * as wf from '@temporalio/workflow';
import { bridgeCapRefusal } from '../../approvals/bridge-cap';
import { whyNoLongerAllowed } from '../../approvals/revocation';
import type { Attribution } from '../../approvals/verify-decision';
import type { PromotionSettings } from '../../policy/config/schema';
import { handling, handlingAsync, IdentityRefused, type DecisionChecks } from '../decision-checks';
import {
  waiveSignal,
  waiveUpdate,
  type PromotionState,
  type WaiveRequest,
  type Waiver,
  type WaiverResult,
} from '../messages';
import { describeIssue, waiveRequestSchema } from '../payload-schemas';
import { alreadyWaivedBy, waiverProgress, whyFindingsNotWaivable } from '../../common/waiver-quorum';
import type { ApproverSetReader } from './approver-set-reader';
import { iso, type PromotionContext } from './context';

/** Why a waiver is refused in the current stage. */
export function whyNotAwaitingWaiver(state: PromotionState): string {
  if (state.stage === 'ended') return `waive: nothing to waive: the promotion ended ${state.outcome}`;
  if (state.stage === 'policy_gate') return 'waive: the policy gate is still running; nothing is blocked yet';
  return (
    `waive: not awaiting waivers: stage is ${state.stage}; only a promotion the policy gate blocked on ` +
    'waivable findings waits for them'
  );
}

/** Characters of a public key kept with a waiver: enough to tell keys apart in a report. */
const KEY_ID_CHARS = 12;

function keyIdOf(settings: PromotionSettings, by: string, attribution: Attribution): string | undefined {
  const key =
    attribution === 'slack-bridge'
      ? settings.integrations?.slack?.bridgePublicKey
      : attribution === 'approver-key'
        ? settings.approvers.allowed.find((a) => a.id === by)?.publicKey
        : undefined;
  return key?.slice(0, KEY_ID_CHARS);
}

type Pending = Pick<Waiver, 'by' | 'findings' | 'attribution'>;

export function registerWaiverHandlers(o: {
  ctx: PromotionContext;
  checks: DecisionChecks;
  readApproverSet: ApproverSetReader;
  recordRefusal: (action: string, who: unknown, err: Error) => void;
}): void {
  const { ctx, checks } = o;
  const { state } = ctx;
  /** Waivers judged on arrival whose key is being checked against the current policy. */
  const checking: Pending[] = [];

  const parse = (raw: unknown): WaiveRequest => {
    const r = waiveRequestSchema.safeParse(raw);
    if (!r.success) throw new Error(`waive: ${describeIssue(r.error)}`);
    return r.data;
  };

  function judgeParsed(req: WaiveRequest) {
    if (state.stage !== 'awaiting_waiver') throw new Error(whyNotAwaitingWaiver(state));
    const { approver, settings } = checks.authorize('waive', req.by);
    const notWaivable = whyFindingsNotWaivable(state.findings, req.findings);
    if (notWaivable) throw new Error(`waive: ${notWaivable}`);
    const { via, slackUser, signature, findings } = req;
    const attribution = checks.checkIdentity(
      'waive',
      { approver, via, slackUser, signature, findings, text: req.reason },
      settings,
    );
    // Waivers still being checked against the current policy count as given.
    const given = [...(state.waivers ?? []), ...checking];
    const twice = alreadyWaivedBy(given, approver, findings);
    if (twice.length)
      throw new Error(
        `waive: "${approver}" has already waived ${twice.join(', ')}; the next waiver of it must come from a different person`,
      );
    for (const id of findings) {
      const overCap = bridgeCapRefusal(
        given.filter((w) => w.findings.includes(id)),
        attribution,
        settings,
        'waive',
      );
      if (overCap) throw new Error(overCap);
    }
    return { approver, attribution, settings, req };
  }

  /** A well-formed waiver that cannot count is refused in history, where status and the UI show it. */
  function judge(raw: unknown) {
    const req = parse(raw);
    try {
      return judgeParsed(req);
    } catch (err) {
      throw err instanceof IdentityRefused ? err : new IdentityRefused((err as Error).message);
    }
  }

  function arrive(raw: unknown) {
    const judged = judge(raw);
    // Spent at once: the same signature sent again while the policy is read is a replay.
    if (judged.req.signature) checks.usedSignatures.add(judged.req.signature.value);
    const pending: Pending = { by: judged.approver, findings: judged.req.findings, attribution: judged.attribution };
    checking.push(pending);
    return { judged, pending, arrivedAt: Date.now() };
  }

  async function record({ judged, pending, arrivedAt }: ReturnType<typeof arrive>, via: string): Promise<WaiverResult> {
    const { approver, attribution, settings, req } = judged;
    let checkedPolicyHash: string;
    try {
      const current = await o.readApproverSet('waive');
      const why = whyNoLongerAllowed(settings, current, approver, attribution);
      if (why) throw new IdentityRefused(`waive: ${why}`);
      checkedPolicyHash = current.policyHash;
    } finally {
      checking.splice(checking.indexOf(pending), 1);
    }
    // The wait may have ended while the policy was read (a stop, the deadline, the quorum).
    if (state.stage !== 'awaiting_waiver') throw new IdentityRefused(whyNotAwaitingWaiver(state));
    const keyId = keyIdOf(settings, approver, attribution);
    const waiver: Waiver = {
      by: approver,
      at: iso(arrivedAt),
      findings: req.findings,
      reason: req.reason,
      via: req.via ?? via,
      attribution,
      ...(keyId ? { keyId } : {}),
      checkedPolicyHash,
    };
    state.waivers = [...(state.waivers ?? []), waiver];
    ctx.report();
    const required = settings.approvers.required;
    const progress = waiverProgress(state.findings, state.waivers, required);
    return { waivers: [...state.waivers], required, waiting: progress.waiting, complete: progress.complete };
  }

  const refuse = (raw: unknown) => (err: Error) => o.recordRefusal('waive', (raw as WaiveRequest)?.by, err);
  wf.setHandler(
    waiveUpdate,
    (raw) => {
      const arrived = handling(() => arrive(raw), refuse(raw));
      return handlingAsync(() => record(arrived, 'update'), refuse(raw));
    },
    // Only a malformed payload is refused before history; every other refusal is recorded.
    { validator: (raw) => void parse(raw) },
  );
  wf.setHandler(waiveSignal, (raw) => {
    let arrived: ReturnType<typeof arrive>;
    try {
      arrived = arrive(raw);
    } catch (err) {
      refuse(raw)(err as Error);
      return;
    }
    return record(arrived, 'signal').then(() => undefined, refuse(raw));
  });
}
