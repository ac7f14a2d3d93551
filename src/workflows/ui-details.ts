// What the Temporal Web UI shows for a promotion: a one-line summary fixed at start and current
// details (markdown) kept up to date, because every promotion ends as a green COMPLETED whether it
// was promoted or rolled back. Pure: called from workflow code and from the client at start.
import { formatDuration } from '../common/durations';
import { describeAlert } from '../common/alert-evidence';
import { describeShortfall } from '../common/traffic-shortfall';
import { formatRate, formatRise } from '../common/format';
import type { Change, PromotionState } from './messages';
import { waiverProgress } from '../common/waiver-quorum';

/** The static summary given when the promotion starts (the workflow list's Summary column). */
export function promotionSummary(change: Change): string {
  return `${change.service} @ ${change.commit.slice(0, 12)}${change.title ? `: ${change.title}` : ''}`;
}

/** Current details: the stage, what it waits for, and how it ended. */
export function promotionDetails(s: PromotionState, nowMs: number): string {
  const lines = [
    `**${s.outcome ? `${s.outcome.toUpperCase()}` : `stage: ${s.stage}`}** · ${promotionSummary(s.change)}`,
  ];
  if (s.shortBake) lines.push('WARNING: short bake (the policy allows a bake under 24 h)');
  if (s.queuePosition) lines.push(`queue position ${s.queuePosition}`);
  if (s.bakeEndsAt && !s.outcome) {
    const left = Date.parse(s.bakeEndsAt) - nowMs;
    lines.push(
      left > 0 ? `bake ends at ${s.bakeEndsAt} (in ${formatDuration(left)})` : `bake ended at ${s.bakeEndsAt}`,
    );
  }
  if (s.stage === 'awaiting_approval' || s.approvals.length) {
    const required = s.settings?.approvers.required ?? 2;
    const who = s.approvals.map((a) => a.approver).join(', ');
    lines.push(
      `approvals ${s.approvals.length}/${required}${who ? ` (${who})` : ''}${s.approvalDeadline && !s.outcome ? `, deadline ${s.approvalDeadline}` : ''}`,
    );
  }
  if (s.stage === 'awaiting_waiver' || s.waivers?.length) {
    const required = s.settings?.approvers.required ?? 2;
    const { waiting } = waiverProgress(s.findings, s.waivers ?? [], required);
    const who = (s.waivers ?? []).map((w) => `${w.by}: ${w.findings.join(', ')}`).join('; ');
    lines.push(
      `waivers${who ? ` (${who})` : ''}${waiting.length && !s.outcome ? `; waiting for ${waiting.join(', ')} (${required} each), deadline ${s.waiverDeadline}` : ''}`,
    );
  }
  const i = s.interruption;
  if (i?.kind === 'breach')
    lines.push(
      `breach in ${i.sample.environment}: ${formatRate(i.sample.rate)} vs ${formatRate(i.baselineUsed)} (${formatRise(i.risePercent)})`,
    );
  else if (i?.kind === 'alert') lines.push(`alert ${describeAlert(i)}`);
  else if (i?.kind === 'insufficient_evidence') lines.push(describeShortfall(i.watch, i));
  else if (i?.kind === 'silence') lines.push(`no error-rate data from ${i.environment} since ${i.silentSince}`);
  else if (i?.kind === 'rejected' || i?.kind === 'aborted') lines.push(`${i.kind} by ${i.by}: ${i.reason}`);
  else if (i?.kind === 'approval_timeout') lines.push(`no approval within ${i.hours} h`);
  else if (i?.kind === 'waiver_timeout') lines.push(`no complete set of waivers within ${i.hours} h`);
  else if (i?.kind === 'deploy_failed') lines.push(`deploy to ${i.environment} failed: ${i.message}`);
  else if (i?.kind === 'activity_failed') lines.push(`${i.activity} failed: ${i.message}`);
  else if (i?.kind === 'invariant_violated') lines.push(`invariant violated: ${i.message}`);
  else if (i?.kind === 'workflow_ended')
    lines.push(`workflow ${i.status}${i.endedAt ? ` at ${i.endedAt}` : ''}; compensated by ${i.compensation}`);
  // With rollback.onInsufficientEvidence: hold, a watch too quiet to judge goes on: say so here too.
  for (const w of ['staging', 'canary', 'production'] as const) {
    const short = s.errorRate.insufficient?.[w];
    if (short && !(i?.kind === 'insufficient_evidence' && i.watch === w)) lines.push(describeShortfall(w, short));
  }
  const blocks = s.findings.filter((f) => f.level === 'block');
  if (blocks.length) lines.push(`blocked by ${blocks.map((f) => f.rule).join(', ')}`);
  if (s.rollback)
    lines.push(
      `rollback: ${s.rollback.steps.join(', ') || 'nothing deployed'}${s.rollback.error ? ` FAILED: ${s.rollback.error}` : ''}`,
    );
  if (s.deployed.length && !s.outcome) lines.push(`deployed: ${s.deployed.join(', ')}`);
  return lines.join('  \n');
}
