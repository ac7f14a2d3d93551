// `resolve`: after a failed rollback, a human says, signed, what they did about what was left
// deployed; the waiting workflow then ends and the service's slot is released. The promotion
// (rollback_failed) and the compensation of a terminated promotion wait for it the same way.
import * as wf from '@temporalio/workflow';
import { resolveUpdate, type PromotionState } from './messages';
import { describeIssue, resolveRequestSchema } from './payload-schemas';
import { handling, validating, type DecisionChecks } from './decision-checks';

export function registerResolveHandler(o: {
  /** Waits for resolution while `stage` is awaiting_resolution; `resolution` is set on success. */
  state: PromotionState;
  checks: DecisionChecks;
  recordRefusal: (action: string, who: unknown, err: Error) => void;
}): void {
  const { state, checks } = o;
  const validateResolve = (raw: unknown) => {
    const parsed = resolveRequestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`resolve: ${describeIssue(parsed.error)}`);
    const req = parsed.data;
    if (state.stage !== 'awaiting_resolution') {
      throw new Error(`resolve: nothing to resolve; stage is ${state.stage} (only a failed rollback waits for this)`);
    }
    // Resolving releases the service's slot: only an allowed human, never the author, signed.
    const { approver, settings } = checks.authorize('resolve', req.approver);
    checks.checkIdentity('resolve', { ...req, approver, text: req.note }, settings);
    return { approver, req };
  };
  wf.setHandler(
    resolveUpdate,
    (raw) =>
      handling(
        () => {
          const { approver, req } = validateResolve(raw);
          if (req.signature) checks.usedSignatures.add(req.signature.value);
          state.resolution = { by: approver, note: req.note, at: new Date(Date.now()).toISOString() };
          return { accepted: true as const };
        },
        (err) => o.recordRefusal('resolve', raw?.approver, err),
      ),
    { validator: (raw) => validating(() => validateResolve(raw)) },
  );
}
