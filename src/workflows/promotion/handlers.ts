// What humans and the outside world may tell a promotion: approve / reject / abort (Updates with
// validators, and Signals), error-rate samples, the slot's grant, and the `state` query. Every
// refusal says why; identity refusals are recorded in state.refusals so the history shows them.
import * as wf from '@temporalio/workflow';
import type { z } from 'zod';
import type { Attribution, SignedRequest } from '../../approvals/verify-decision';
import { formatDuration } from '../../common/durations';
import { whyNoLongerAllowed, type ApproverSet } from '../../approvals/revocation';
import { bridgeCapRefusal } from '../../approvals/bridge-cap';
import {
  createDecisionChecks,
  handling as handleDecision,
  handlingAsync as handleDecisionAsync,
  IdentityRefused,
  validating,
} from '../decision-checks';
import { registerResolveHandler } from '../resolve-handler';
import { queuePositionKey } from '../search-attributes';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  errorRateSignal,
  alertSignal,
  queuePositionSignal,
  rejectSignal,
  rejectUpdate,
  slotGrantedSignal,
  stateQuery,
  type Approval,
  type ApprovalRequest,
  type PromotionState,
} from '../messages';
import {
  abortRequestSchema,
  approvalRequestSchema,
  describeIssue,
  errorRateSampleSchema,
  alertSignalSchema,
  legacyErrorRateSampleSchema,
  rejectRequestSchema,
} from '../payload-schemas';
import { createApproverSetReader } from './approver-set-reader';
import { registerWaiverHandlers } from './waiver-handlers';
import { iso, type PromotionContext } from './context';

/** Why an approval is refused in the current stage, with the time left where there is one. */
export function whyNotAwaitingApproval(state: PromotionState, now: number): string {
  switch (state.stage) {
    case 'baking':
      return `not awaiting approval: stage is baking; bake ends in ${formatDuration(Date.parse(state.bakeEndsAt ?? '') - now)} (${state.bakeEndsAt})`;
    case 'canary':
      // The watch's end is known once the canary is deployed; before that there is no time to give.
      return state.canaryWatchEndsAt
        ? `not awaiting approval: stage is canary; canary watch ends in ${formatDuration(Date.parse(state.canaryWatchEndsAt) - now)}`
        : 'not awaiting approval: stage is canary; the canary is being deployed and its watch has not started';
    case 'queued':
      return `not awaiting approval: stage is queued${state.queuePosition ? ` at position ${state.queuePosition}` : ''} for the blast-radius slot; the 24 h bake has not started`;
    case 'ended':
      return `not awaiting approval: promotion ended ${state.outcome}`;
    default:
      return `not awaiting approval: stage is ${state.stage}; approval is asked after the bake and the canary watch`;
  }
}

/** Why an approval is refused once the required approvals are in (some may still be checked). */
function quorumReached(state: PromotionState, checking: ReadonlyMap<string, unknown>): string {
  const names = [...state.approvals.map((a) => a.approver), ...checking.keys()].join(', ');
  const pending = checking.size
    ? `; ${[...checking.keys()].join(', ')} still being checked against the current policy: send again if refused`
    : '';
  return `not awaiting approval: approved by ${names}; the production rollout is starting${pending}`;
}

/**
 * An approval of a promotion that shows its production change must name that change's digest: the
 * approver approves content, and content that changed since (drift, a new preview) needs a new one.
 */
export function checkApprovedChange(state: PromotionState, digest: string | undefined): void {
  const shown = state.productionChange?.digest;
  if (!shown) {
    // An image-tag promotion: the change is its version. A digest here was made for something else.
    if (digest !== undefined)
      throw new Error(`approve: changeDigest ${digest} names a production change, but this promotion shows none`);
    return;
  }
  if (digest === undefined)
    throw new Error(
      `approve: changeDigest is required: this promotion asks approval of its production change ${shown} ` +
        `(airlock diff ${state.workflowId}); airlock approve and the Slack button send it`,
    );
  if (digest !== shown)
    throw new Error(
      `approve: changeDigest ${digest} is not the production change awaiting approval (${shown}); ` +
        `production changed since it was shown: review airlock diff ${state.workflowId} and approve again`,
    );
}

export function registerHandlers(ctx: PromotionContext, signedDecisions: boolean): void {
  // Carried over when the promotion continues as new: a signature used once is refused in every run.
  const { state, workflowId, change, usedSignatures } = ctx;
  // Before this version only the opener (exact case) was excluded and the Slack bridge had no cap.
  // Decided once here: update validators may not call patched().
  const approverIdentity = wf.patched('approver-identity');
  // Before this version a signature bound the workflow id only, not the commit and policy decided on.
  const decisionBindsCommit = wf.patched('decision-binds-commit');
  const checks = createDecisionChecks({
    workflowId,
    change,
    settings: () => ctx.settings,
    signedDecisions,
    usedSignatures,
    authorSet: approverIdentity,
    policyHash: () => state.policyHash,
    bindsCommit: decisionBindsCommit,
  });
  const { authorize, checkIdentity } = checks;
  // Before this version a stop arriving while the gate ran was refused and the change went on.
  const stopsWaitForGate = wf.patched('stops-wait-for-gate');
  const gateRunning = () => stopsWaitForGate && state.stage === 'policy_gate';
  // Before this version an approval named the promotion only, not the production change it approved.
  const approvalCoversChange = wf.patched('approval-covers-change');
  /**
   * Who may stop a change is in the policy the gate loads, so a stop that arrives while the gate
   * runs is judged as soon as the gate has decided: never dropped, never accepted unchecked.
   */
  const afterGate = () => wf.condition(() => !gateRunning());
  /** Judged at once (in the order received) unless the gate is still running; `fn` is told which. */
  const whenGated = <T>(fn: (sentBeforeGate: boolean) => T): T | Promise<T> =>
    gateRunning() ? afterGate().then(() => fn(true)) : fn(false);

  // Before this version a key removed from the policy after the gate still counted until the end.
  const checksRevocation = wf.patched('approval-checks-revocation');
  /** Approvals accepted on arrival whose key is being checked against the current policy. */
  const checking = new Map<string, Attribution>();
  // Before this version the stage stayed awaiting_approval from the last approval until the rollout
  // began, and an approval arriving in that window was accepted as a third one.
  const closesAtQuorum = wf.patched('approval-closes-at-quorum');

  function validateApproval(raw: ApprovalRequest) {
    const parsed = approvalRequestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`approve: ${describeIssue(parsed.error)}`);
    if (state.stage !== 'awaiting_approval') throw new Error(whyNotAwaitingApproval(state, Date.now()));
    const req = parsed.data;
    const { approver, settings } = authorize('approve', req.approver);
    const received = state.approvals.length + checking.size;
    if (closesAtQuorum && received >= settings.approvers.required) throw new Error(quorumReached(state, checking));
    if (approvalCoversChange) checkApprovedChange(state, req.changeDigest);
    const attribution = checkIdentity('approve', { ...req, approver, text: req.comment }, settings);
    if (state.approvals.some((a) => a.approver === approver) || checking.has(approver)) {
      throw new Error(
        `approve: "${approver}" has already approved; the next approval must come from a different person`,
      );
    }
    // Approvals still being checked against the current policy count towards the cap too.
    const counted = [...state.approvals, ...[...checking.values()].map((a) => ({ attribution: a }))];
    const overBridgeCap = approverIdentity && bridgeCapRefusal(counted, attribution, settings);
    if (overBridgeCap) throw new IdentityRefused(overBridgeCap); // recorded in state.refusals
    return { approver, attribution, req, settings, required: settings.approvers.required };
  }

  function recordApproval(raw: ApprovalRequest, via: string) {
    const validated = validateApproval(raw);
    if (validated.req.signature) usedSignatures.add(validated.req.signature.value);
    return commitApproval(validated, via);
  }

  function commitApproval(
    { approver, attribution, req, required }: ReturnType<typeof validateApproval>,
    via: string,
    checked?: { at: number; checkedPolicyHash: string },
  ) {
    const approval: Approval = {
      approver,
      at: iso(checked?.at ?? Date.now()),
      via: req.via ?? via,
      ...(req.comment ? { comment: req.comment } : {}),
      attribution,
      ...(req.changeDigest ? { changeDigest: req.changeDigest } : {}),
      ...(checked ? { checkedPolicyHash: checked.checkedPolicyHash } : {}),
    };
    state.approvals.push(approval);
    ctx.report();
    return { approvals: [...state.approvals], required, complete: state.approvals.length >= required };
  }

  const readApproverSet = createApproverSetReader();
  /**
   * An approval judged on arrival like any other, then counted only if the current policy still
   * allows its key (src/approvals/revocation.ts). It is recorded at the time it arrived: a stop that
   * lands while the policy is read does not make an approval given before it late. Reads run one at
   * a time, so approvals are recorded in the order they arrived.
   */
  function arrive(raw: ApprovalRequest) {
    const validated = validateApproval(raw);
    // Spent at once: the same signature sent again while the policy is read is a replay.
    if (validated.req.signature) usedSignatures.add(validated.req.signature.value);
    checking.set(validated.approver, validated.attribution);
    return { validated, arrivedAt: Date.now() };
  }

  async function recordCheckedApproval({ validated, arrivedAt }: ReturnType<typeof arrive>, via: string) {
    let current: ApproverSet;
    try {
      current = await readApproverSet('approve');
    } finally {
      checking.delete(validated.approver);
    }
    const why = whyNoLongerAllowed(validated.settings, current, validated.approver, validated.attribution);
    if (why) throw new IdentityRefused(`approve: ${why}`);
    return commitApproval(validated, via, { at: arrivedAt, checkedPolicyHash: current.policyHash });
  }

  function validateStop(
    action: 'reject' | 'abort',
    req: SignedRequest & { reason: string },
    sentBeforeGate = false,
  ): string | undefined {
    if (gateRunning()) return undefined; // judged by the handler once the gate has decided
    if (state.stage === 'ended' || state.stage === 'rolling_back') {
      throw new Error(
        `${action}: promotion is ${state.stage === 'ended' ? `ended (${state.outcome})` : 'already rolling back'}`,
      );
    }
    if (state.interruption) throw new Error(`${action}: promotion is already stopping (${state.interruption.kind})`);
    const { approver, settings } = authorize(action, req.approver);
    checkIdentity(action, { ...req, approver, text: req.reason }, settings, sentBeforeGate);
    return approver;
  }

  function parseOrThrow<S extends z.ZodType>(schema: S, action: string, raw: unknown): z.infer<S> {
    const r = schema.safeParse(raw);
    if (!r.success) throw new Error(`${action}: ${describeIssue(r.error)}`);
    return r.data;
  }

  const parseReject = (raw: unknown) => parseOrThrow(rejectRequestSchema, 'reject', raw);
  const parseAbort = (raw: unknown) => {
    const { by, ...rest } = parseOrThrow(abortRequestSchema, 'abort', raw);
    return { ...rest, approver: by };
  };
  // A stop sent while the gate ran was signed without the policy hash, which did not exist yet.
  const stop = (action: 'reject' | 'abort', req: SignedRequest & { reason: string }, sentBeforeGate: boolean) => {
    const by = validateStop(action, req, sentBeforeGate);
    if (by === undefined) throw new Error(`${action}: judged before the policy gate decided`); // unreachable
    if (req.signature) usedSignatures.add(req.signature.value);
    ctx.interrupt({ kind: action === 'reject' ? 'rejected' : 'aborted', by, reason: req.reason });
  };
  const reject = (raw: unknown, early: boolean) => stop('reject', parseReject(raw), early);
  const abort = (raw: unknown, early: boolean) => stop('abort', parseAbort(raw), early);
  const refuseRecorded = (action: string, who: unknown, err: Error) =>
    ctx.refuse({ who: String(who ?? '(unknown)'), action, reason: err.message });
  /** Update handler: a refusal fails the update with a typed failure; identity refusals are recorded. */
  const handling = <T>(action: string, who: unknown, fn: () => T): T =>
    handleDecision(fn, (err) => refuseRecorded(action, who, err));
  // Signals cannot answer: a refused signal is recorded where `state` and the UI show it.
  const refusing = (action: string, who: unknown, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      refuseRecorded(action, who, err as Error);
    }
  };

  // A refusal on arrival is recorded at once, in the order the requests came (synchronously), and
  // only an arrival the policy read may still refuse waits for it.
  const approveByUpdate = (req: ApprovalRequest) => {
    if (!checksRevocation) return handling('approve', req?.approver, () => recordApproval(req, 'update'));
    const arrived = handling('approve', req?.approver, () => arrive(req));
    return handleDecisionAsync(
      () => recordCheckedApproval(arrived, 'update'),
      (err) => refuseRecorded('approve', req?.approver, err),
    );
  };
  wf.setHandler(approveUpdate, approveByUpdate, { validator: (req) => validating(() => validateApproval(req)) });
  wf.setHandler(approveSignal, (req) => {
    if (!checksRevocation) return refusing('approve', req?.approver, () => recordApproval(req, 'signal'));
    let arrived: ReturnType<typeof arrive> | undefined;
    refusing('approve', req?.approver, () => (arrived = arrive(req)));
    if (!arrived) return;
    return recordCheckedApproval(arrived, 'signal').then(
      () => undefined,
      (err: Error) => refuseRecorded('approve', req?.approver, err),
    );
  });
  wf.setHandler(
    rejectUpdate,
    (req) =>
      whenGated((early) => handling('reject', req?.approver, () => (reject(req, early), { accepted: true as const }))),
    { validator: (req) => validating(() => validateStop('reject', parseReject(req))) },
  );
  wf.setHandler(rejectSignal, (req) =>
    whenGated((early) => refusing('reject', req?.approver, () => reject(req, early))),
  );
  wf.setHandler(
    abortUpdate,
    (req) => whenGated((early) => handling('abort', req?.by, () => (abort(req, early), { accepted: true as const }))),
    { validator: (req) => validating(() => validateStop('abort', parseAbort(req))) },
  );
  wf.setHandler(abortSignal, (req) => whenGated((early) => refusing('abort', req?.by, () => abort(req, early))));

  // A gate blocked only by waivable findings waits for signed waivers (waiver-handlers.ts).
  registerWaiverHandlers({ ctx, checks, readApproverSet, recordRefusal: refuseRecorded });
  // A failed rollback holds the slot until a human, signed, says it has been dealt with.
  registerResolveHandler({ state, checks, recordRefusal: refuseRecorded });
  wf.setHandler(errorRateSignal, (raw) => {
    const parsed = (ctx.countsOnly ? errorRateSampleSchema : legacyErrorRateSampleSchema).safeParse(raw);
    if (!parsed.success) {
      ctx.refuse({
        who: 'errorRate',
        action: 'errorRate',
        reason: describeIssue(parsed.error),
      });
      return;
    }
    if (!ctx.monitor || state.stage === 'ended' || state.stage === 'rolling_back') return;
    const breach = ctx.monitor.observe(parsed.data, Date.now());
    if (breach) ctx.interrupt(breach);
  });
  wf.setHandler(alertSignal, (raw) => {
    const parsed = alertSignalSchema.safeParse(raw);
    if (!parsed.success) {
      ctx.refuse({ who: 'alert', action: 'alert', reason: describeIssue(parsed.error) });
      return;
    }
    if (!ctx.monitor || state.stage === 'ended' || state.stage === 'rolling_back') return;
    const verdict = ctx.monitor.observeAlerts(parsed.data, Date.now(), state.change.version);
    if (verdict) ctx.interrupt(verdict);
  });
  // Before this version the queue position was in the state only, not in visibility.
  const positionAttribute = (position: number) => {
    if (wf.patched('queue-position-attribute')) wf.upsertSearchAttributes([{ key: queuePositionKey, value: position }]);
  };
  wf.setHandler(slotGrantedSignal, () => {
    ctx.slot.granted = true;
    ctx.slot.grants++;
    if (state.queuePosition !== undefined) positionAttribute(0);
    state.queuePosition = undefined;
  });
  wf.setHandler(queuePositionSignal, ({ position }) => {
    if (ctx.slot.granted) return;
    state.queuePosition = position;
    positionAttribute(position);
  });
  wf.setHandler(stateQuery, () => {
    const now = Date.now();
    const bakeRemainingMs = state.bakeEndsAt ? Math.max(0, Date.parse(state.bakeEndsAt) - now) : undefined;
    return {
      ...state,
      now: iso(now),
      errorRate: ctx.monitor?.summary ?? state.errorRate,
      ...(bakeRemainingMs !== undefined ? { bakeRemainingMs } : {}),
    };
  });
}
