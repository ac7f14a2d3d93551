// Human view of one promotion's state. Pure: state in, text out (times from the workflow's `now`).
import { describeAlert } from '../common/alert-evidence';
import { describeShortfall } from '../common/traffic-shortfall';
import { formatDuration } from '../common/durations';
import { formatRate, formatRise } from '../common/format';
import type { PromotionView } from './promotion-view';
import type { PromotionState } from '../workflows/messages';
import { errorRateEvidenceLines } from '../common/error-rate-evidence';
import { stagedImageLines } from '../common/staged-image-lines';
import { waiverProgress } from '../common/waiver-quorum';

export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** The status view, with the notice first when the state is not the live answer of a running workflow. */
export function renderView(v: PromotionView): string {
  const text = renderStatus(v.state);
  return v.notice ? `NOTICE   ${v.notice}\n${text}` : text;
}

export function renderStatus(s: PromotionState): string {
  const now = Date.parse(s.now);
  const c = s.change;
  const lines = [
    `${s.workflowId}`,
    `  change   ${c.service} @ ${c.commit.slice(0, 12)} (${c.version}) by ${c.author}${c.title ? ` — ${c.title}` : ''}`,
    `  stage    ${s.stage}${s.outcome ? ` → ${s.outcome}` : ''}${s.queuePosition ? ` (position ${s.queuePosition} in queue)` : ''}`,
  ];
  if (s.train) {
    lines.push(
      `  train    ${s.train.length} merged changes, judged and deployed together (${c.baseCommit?.slice(0, 12) ?? 'root'}..${c.commit.slice(0, 12)}):`,
    );
    for (const t of s.train)
      lines.push(
        `           ${t.commit.slice(0, 12)} by ${t.author}${t.title ? ` — ${t.title}` : ''}${t.workflowId === s.workflowId ? '' : ` (was ${t.workflowId})`}`,
      );
  }
  for (const r of s.restarts ?? [])
    lines.push(
      `  RESTART  ${r.at} from ${r.fromStage} with ${r.commit.slice(0, 12)} (${r.by}): bake started again` +
        `${r.canaryRestored ? ', canary taken out of production' : ''}` +
        `${r.approvalsVoided.length ? `, approvals of ${r.approvalsVoided.join(', ')} void` : ''}`,
    );
  if (s.restartRequest)
    lines.push(`  RESTARTING with ${s.restartRequest.change.commit.slice(0, 12)} (${s.restartRequest.by})`);
  if (s.supersededBy)
    lines.push(`  SUPERSEDED by ${s.supersededBy}: its commits go on there (airlock status ${s.supersededBy})`);
  if (s.shortBake) lines.push('  WARNING  short bake: the policy allows a bake under 24 h');
  if (s.stagingReadyAt && s.bakeEndsAt) {
    const start = Date.parse(s.stagingReadyAt);
    const end = Date.parse(s.bakeEndsAt);
    const left = Math.max(0, end - now);
    lines.push(
      `  bake     ${progressBar((now - start) / (end - start))} ${left ? `${formatDuration(left)} left, ends ${s.bakeEndsAt}` : 'complete'}`,
    );
  }
  if (s.canaryWatchEndsAt) {
    const left = Math.max(0, Date.parse(s.canaryWatchEndsAt) - now);
    lines.push(`  canary   ${left ? `watch ends in ${formatDuration(left)}` : 'watch complete'}`);
  }
  const last = s.errorRate.last;
  if (last)
    lines.push(
      `  errors   ${pct(last.rate)} vs baseline ${pct(last.baseline)} in ${last.environment} (${s.errorRate.samples} samples)`,
    );
  for (const l of errorRateEvidenceLines(s.errorRate)) lines.push(`  test     ${l}`);
  const required = s.settings?.approvers.required ?? 2;
  if (s.stage === 'awaiting_approval' || s.approvals.length) {
    const who = s.approvals.map((a) => `${a.approver} via ${a.via}`).join(', ');
    lines.push(
      `  approvals ${s.approvals.length}/${required}${who ? `: ${who}` : ''}${s.approvalDeadline && !s.outcome ? `; deadline ${s.approvalDeadline}` : ''}`,
    );
  }
  for (const v of s.approvalsVoided ?? [])
    lines.push(`  voided   approvals of ${v.approvers.join(', ') || 'nobody'} at ${v.at}: ${v.reason}`);
  const images = stagedImageLines(s.stagedImages);
  for (const l of images.pinned) lines.push(`  image    ${l}`);
  for (const l of images.mutable) lines.push(`  WARNING  ${l}`);
  const pc = s.productionChange;
  if (pc && !s.outcome) {
    lines.push(`  production change ${pc.digest} (approvals sign it; all of it: airlock diff ${s.workflowId}):`);
    for (const n of pc.notes) lines.push(`    ! ${n}`);
    for (const l of pc.text.split('\n')) lines.push(`    ${l}`);
    if (pc.omittedChars) lines.push(`    … ${pc.omittedChars} more characters not shown`);
  }
  for (const f of s.findings)
    lines.push(
      `  ${f.level.padEnd(8)} ${f.rule}: ${f.message}${f.id ? ` [${f.id}${f.waivable ? ', waivable' : ''}]` : ''}`,
    );
  lines.push(...waiverLines(s));
  if (s.interruption) lines.push(`  stopped  ${describeInterruption(s.interruption)}`);
  if (s.rollback)
    lines.push(
      `  rollback ${s.rollback.steps.join(', ') || '(nothing deployed)'}${s.rollback.error ? ` — FAILED: ${s.rollback.error}` : ''}`,
    );
  if (s.stage === 'awaiting_resolution') {
    lines.push(
      `  ROLLBACK FAILED: restore by hand, then: airlock resolve ${resolveTarget(s)} --as ID --key FILE --note '…'`,
    );
  }
  if (s.resolution) lines.push(`  resolved by ${s.resolution.by} at ${s.resolution.at}: ${s.resolution.note}`);
  if (s.outcome === 'rollback_failed') {
    lines.push(
      `  LEFT     ${s.deployed.join(', ') || '(unknown)'}: the restore did not finish; the change may still be live there`,
    );
  }
  for (const r of s.refusals.slice(-5)) lines.push(`  refused  ${r.action} by ${r.who} at ${r.at}: ${r.reason}`);
  return lines.join('\n');
}

const pct = formatRate;

/** The waivers received and, while the promotion waits for them, what is still short and how to sign. */
function waiverLines(s: PromotionState): string[] {
  const lines = (s.waivers ?? []).map(
    (w) => `  waiver   ${w.by} via ${w.via} at ${w.at} waived ${w.findings.join(', ')}: ${w.reason}`,
  );
  if (s.stage !== 'awaiting_waiver') return lines;
  const required = s.settings?.approvers.required ?? 2;
  const { by, waiting } = waiverProgress(s.findings, s.waivers ?? [], required);
  for (const id of waiting) lines.push(`  WAITING  ${id}: waived by ${by.get(id)?.length ?? 0}/${required}`);
  lines.push(
    `  awaiting waivers until ${s.waiverDeadline}: airlock waive ${s.workflowId} --as ID --key FILE ` +
      `${waiting.map((id) => `--finding ${id}`).join(' ')} --reason '…'`,
  );
  return lines;
}

/** Who waits for `airlock resolve`: the promotion, or the compensation that restores it after it was terminated. */
const resolveTarget = (s: PromotionState) =>
  s.interruption?.kind === 'workflow_ended' ? s.interruption.compensation : s.workflowId;

export function describeInterruption(i: NonNullable<PromotionState['interruption']>): string {
  switch (i.kind) {
    case 'breach':
      return i.test
        ? `breach in ${i.sample.environment}, more than +${i.thresholdPercent}% with confidence: ${i.test}`
        : `breach in ${i.sample.environment}: ${pct(i.sample.rate)} vs baseline ${pct(i.baselineUsed)} (${formatRise(i.risePercent)} > +${i.thresholdPercent}%)`;
    case 'alert':
      return `alert ${describeAlert(i)}`;
    case 'insufficient_evidence':
      return `rolled back: ${describeShortfall(i.watch, i)} (rollback.onInsufficientEvidence: rollback)`;
    case 'silence':
      return `no error-rate data from ${i.environment} for ${Math.round(i.silentMinutes)} min (since ${i.silentSince})`;
    case 'rejected':
    case 'aborted':
      return `${i.kind} by ${i.by}: ${i.reason}`;
    case 'approval_timeout':
      return `no approval within ${i.hours} h`;
    case 'waiver_timeout':
      return `blocked: no complete set of signed waivers within ${i.hours} h (still waiting: ${i.waiting.join(', ')})`;
    case 'deploy_failed':
      return `deploy to ${i.environment} failed: ${i.message}`;
    case 'activity_failed':
      return `${i.activity} failed: ${i.message}`;
    case 'invariant_violated':
      return `invariant violated: ${i.message}`;
    case 'superseded':
      return `superseded: a later merge of the service joined it; ${i.by} carries its commits (release train)`;
    case 'train_blocked':
      return `blocked: restarted with ${i.commit}, the combined change was blocked by ${i.blocking.join(', ') || 'the gate'}; staging and production restored`;
    case 'workflow_ended':
      return `the promotion's workflow was ${i.status}${i.endedAt ? ` at ${i.endedAt}` : ''} and ran no rollback; compensated by ${i.compensation}`;
  }
}
