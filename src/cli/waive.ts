// `airlock waive`: a signed waiver of blocking findings of a promotion in stage awaiting_waiver,
// sent as an Update so the workflow's refusal reaches the caller at once. Everything the CLI can
// check (options, key, the ids against the promotion's findings) is checked before anything is sent.
import { bindingOf } from '../approvals/decision-binding';
import { signedRequest } from '../approvals/signed-request';
import { stateQuery, waiveUpdate, type WaiverResult } from '../workflows/messages';
import { WAIVER_REASON_MAX } from '../workflows/payload-schemas';
import { whyFindingsNotWaivable } from '../common/waiver-quorum';
import {
  requireApprover,
  requireReason,
  secretKeyOf,
  signedFor,
  signing,
  type DecisionOptions,
  type SignedFor,
} from './decisions';
import { CliError, ExitCode } from './errors';
import { toCliError } from './temporal-errors';

export interface WaiveOptions extends DecisionOptions {
  /** Ids of the blocking findings waived (airlock status and the check run list them). */
  findings: string[];
  reason: string | undefined;
}

const usage = (message: string) => new CliError(`waive: ${message}`, ExitCode.Usage);

/** The options, checked before the promotion is contacted. */
export function checkWaiveOptions(o: Omit<WaiveOptions, 'client'>) {
  requireApprover('waive', o);
  const findings = [...new Set((o.findings ?? []).map((f) => f.trim()))];
  if (!findings.length || findings.some((f) => !f))
    throw usage('--finding ID is required, once per finding waived (airlock status lists the ids)');
  const reason = requireReason('waive', o.reason);
  if (reason.length > WAIVER_REASON_MAX)
    throw usage(`--reason is ${reason.length} characters; at most ${WAIVER_REASON_MAX}`);
  const key = secretKeyOf(o);
  if (!key) throw usage('--key FILE is required: a waiver is always signed (airlock keygen)');
  return { findings, reason, key };
}

export async function waive(o: WaiveOptions): Promise<WaiverResult & SignedFor> {
  const { findings, reason, key } = checkWaiveOptions(o);
  let state;
  try {
    state = await o.client.workflow.getHandle(o.workflowId).query(stateQuery);
  } catch (err) {
    throw toCliError(err, o.workflowId);
  }
  // An id this promotion does not have, or cannot waive, is a typo or a misunderstanding: say so, send nothing.
  const notWaivable = whyFindingsNotWaivable(state.findings, findings);
  if (notWaivable) throw usage(`--finding: ${notWaivable.replace(/^findings: /, '')}`);
  const binding = bindingOf(state);
  if (!binding) throw new CliError('waive: the policy gate is still running; nothing is blocked yet', ExitCode.Refused);
  try {
    const req = signedRequest('waive', { ...signing(o, key, reason, binding), findings });
    const r = await o.client.workflow.getHandle(o.workflowId).executeUpdate(waiveUpdate, { args: [req] });
    return { ...r, ...signedFor(binding) };
  } catch (err) {
    throw toCliError(err, o.workflowId);
  }
}
