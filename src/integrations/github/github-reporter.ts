// GitHub reporter: a check run on the merge commit that follows the stage, and a Deployment per
// environment with its statuses. Idempotent: it looks up what exists before it creates anything.
// Rate limits (403 with x-ratelimit-remaining: 0, or 429) are retried after GitHub's own delay;
// other 4xx are non-retryable: retrying a refused request only spends the rate limit.
import { ApplicationFailure } from '@temporalio/common';
import type { Octokit } from '@octokit/rest';
import { FailureType } from '../../common/failure-types';
import { formatDuration } from '../../common/durations';
import { formatRate } from '../../common/format';
import type { Environment, Outcome, PromotionState } from '../../workflows/messages';
import type { Reporter } from '../reporter';
import { errorRateEvidenceLines } from '../../common/error-rate-evidence';
import { codeSpan, escapeMarkdown as md, fenced } from './markdown';
import { waiverProgress } from '../../common/waiver-quorum';

export const CHECK_NAME = 'airlock';

const CONCLUSION: Record<Outcome, 'success' | 'failure' | 'cancelled' | 'timed_out' | 'action_required' | 'neutral'> = {
  promoted: 'success',
  blocked: 'action_required',
  rolled_back: 'failure',
  rejected: 'cancelled',
  aborted: 'cancelled',
  timed_out: 'timed_out',
  failed: 'failure',
  rollback_failed: 'failure',
  // Nothing of it ran: its commits go on in the promotion that carries them.
  superseded: 'neutral',
};

export function checkRunTitle(s: PromotionState): string {
  const required = s.settings?.approvers.required ?? 2;
  switch (s.stage) {
    case 'baking':
      return `baking in staging: ${formatDuration(Math.max(0, Date.parse(s.bakeEndsAt!) - Date.parse(s.now)))} left`;
    case 'queued_for_production':
      return `baked; queued for the production slot${s.queuePosition ? ` at position ${s.queuePosition}` : ''}`;
    case 'awaiting_approval':
      return `awaiting approval ${s.approvals.length}/${required}`;
    case 'awaiting_waiver': {
      const { waiting } = waiverProgress(s.findings, s.waivers ?? [], required);
      return `blocked, awaiting signed waivers: ${waiting.length} finding${waiting.length === 1 ? '' : 's'} to waive`;
    }
    case 'ended':
      if (s.outcome === 'superseded') return `superseded: carried by ${s.supersededBy ?? 'a later promotion'}`;
      return s.outcome === 'blocked'
        ? `blocked by policy: ${s.findings
            .filter((f) => f.level === 'block')
            .map((f) => f.rule)
            .join(', ')}`
        : `${s.outcome}${s.interruption ? ` (${s.interruption.kind})` : ''}`;
    default:
      return s.stage.replace('_', ' ');
  }
}

export function checkRunSummary(s: PromotionState): string {
  const lines = [`**${md(checkRunTitle(s))}** — ${md(s.change.service)} ${codeSpan(s.change.version)}`];
  if (s.findings.length)
    lines.push(
      '',
      '**Policy findings**',
      ...s.findings.map(
        (f) =>
          `- ${f.level}: ${md(f.rule)}: ${md(f.message)}${f.id ? ` (${codeSpan(f.id)}${f.waivable ? ', waivable' : ''})` : ''}`,
      ),
    );
  if (s.bakeEndsAt)
    lines.push(
      '',
      `Bake: staging ready ${s.stagingReadyAt}, ends ${s.bakeEndsAt}${s.shortBake ? ' (SHORT BAKE)' : ''}`,
    );
  if (s.errorRate.last)
    lines.push(
      `Error rate: ${formatRate(s.errorRate.last.rate)} vs baseline ${formatRate(s.errorRate.last.baseline)} in ${s.errorRate.last.environment}`,
    );
  for (const l of errorRateEvidenceLines(s.errorRate)) lines.push(`- ${l}`);
  lines.push(...waiverSummary(s));
  if (s.approvals.length) lines.push(`Approvals: ${md(s.approvals.map((a) => `${a.approver} (${a.via})`).join(', '))}`);
  for (const v of s.approvalsVoided ?? [])
    lines.push(`Approvals of ${md(v.approvers.join(', ') || 'nobody')} voided ${v.at}: ${md(v.reason)}`);
  const pc = s.productionChange;
  if (pc && !s.outcome)
    lines.push(
      '',
      `**Production change awaiting approval** (\`${pc.digest}\`)`,
      ...pc.notes.map((n) => `- :warning: ${md(n)}`),
      ...fenced('diff', pc.text),
      pc.omittedChars
        ? `${pc.omittedChars} more characters: \`airlock diff ${s.workflowId}\``
        : `Also: \`airlock diff ${s.workflowId}\``,
    );
  if (s.interruption) lines.push('', '**Stopped**', ...fenced('json', JSON.stringify(s.interruption, null, 2)));
  if (s.rollback)
    lines.push(
      `Rollback: ${md(s.rollback.steps.join(', '))}${s.rollback.error ? ` FAILED: ${md(s.rollback.error)}` : ''}`,
    );
  return lines.join('\n');
}

/** Which findings wait for a waiver and the command that signs one; the waivers received. */
function waiverSummary(s: PromotionState): string[] {
  const lines = (s.waivers ?? []).map(
    (w) => `- Waiver by ${md(w.by)} (${md(w.via)}, ${w.at}) of ${w.findings.map(codeSpan).join(', ')}: ${md(w.reason)}`,
  );
  if (lines.length) lines.unshift('', '**Waivers**');
  if (s.stage !== 'awaiting_waiver') return lines;
  const required = s.settings?.approvers.required ?? 2;
  const { by, waiting } = waiverProgress(s.findings, s.waivers ?? [], required);
  return [
    '',
    `**Waiting for signed waivers** until ${s.waiverDeadline} (${required} distinct approvers per finding, never an author):`,
    ...waiting.map((id) => `- ${codeSpan(id)}: waived by ${by.get(id)?.length ?? 0}/${required}`),
    ...fenced(
      'sh',
      `airlock waive ${s.workflowId} --as ID --key FILE ${waiting.map((id) => `--finding ${id}`).join(' ')} --reason '…'`,
    ),
    ...lines,
  ];
}

type DeploymentState = 'in_progress' | 'success' | 'failure' | 'inactive';

/** The deployment status each environment should show for this state, if any. */
export function deploymentStates(s: PromotionState): Partial<Record<Environment, DeploymentState>> {
  const out: Partial<Record<Environment, DeploymentState>> = {};
  const past = (stage: string) =>
    ['baking', 'queued_for_production', 'frozen', 'canary', 'awaiting_approval', 'production'].includes(stage);
  if (s.stage === 'staging') out.staging = 'in_progress';
  else if (past(s.stage)) out.staging = 'success';
  if (s.stage === 'canary' || s.stage === 'awaiting_approval' || s.stage === 'production')
    out.production = 'in_progress';
  if (s.stage === 'ended' && s.outcome !== 'blocked') {
    const touchedProduction = !!s.canaryStartedAt;
    if (s.outcome === 'promoted') Object.assign(out, { staging: 'success', production: 'success' });
    else if (s.stagingReadyAt)
      Object.assign(out, { staging: 'failure', ...(touchedProduction ? { production: 'failure' } : {}) });
  }
  return out;
}

/** Maps an Octokit error to a Temporal failure: rate limits retry after GitHub's delay. */
export function toFailure(err: unknown): unknown {
  const e = err as { status?: number; message?: string; response?: { headers?: Record<string, string | undefined> } };
  if (typeof e?.status !== 'number') return err;
  const h = e.response?.headers ?? {};
  const limited =
    e.status === 429 || (e.status === 403 && (h['x-ratelimit-remaining'] === '0' || h['retry-after'] !== undefined));
  if (limited) {
    const retryAfter = Number(h['retry-after']);
    const reset = Number(h['x-ratelimit-reset']);
    const delayMs = retryAfter > 0 ? retryAfter * 1000 : reset > 0 ? Math.max(1000, reset * 1000 - Date.now()) : 60_000;
    return ApplicationFailure.create({
      type: 'AirlockGithubRateLimited',
      message: `github: rate limited (${e.status}); retry in ${Math.ceil(delayMs / 1000)} s`,
      nextRetryDelay: delayMs,
    });
  }
  if (e.status >= 400 && e.status < 500) {
    return ApplicationFailure.create({
      type: FailureType.ReporterRejected,
      message: `github: ${e.status} ${e.message ?? ''}`.trim(),
      nonRetryable: true,
    });
  }
  return err;
}

export function createGithubReporter(octokit: Octokit): Reporter {
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toFailure(err);
    }
  };
  return {
    name: 'github',
    async report(s) {
      if (!s.change.repository) return; // a change that did not come from GitHub has nowhere to report
      const [owner, repo] = s.change.repository.split('/');
      const ref = s.change.commit;
      const output = { title: checkRunTitle(s), summary: checkRunSummary(s) };
      const ended = s.stage === 'ended' && s.outcome;
      const checkState = ended
        ? { status: 'completed' as const, conclusion: CONCLUSION[s.outcome!] }
        : { status: (s.stage === 'queued' ? 'queued' : 'in_progress') as 'queued' | 'in_progress' };
      const existing = await call(() => octokit.rest.checks.listForRef({ owner, repo, ref, check_name: CHECK_NAME }));
      const id = existing.data.check_runs[0]?.id;
      if (id) await call(() => octokit.rest.checks.update({ owner, repo, check_run_id: id, output, ...checkState }));
      else
        await call(() =>
          octokit.rest.checks.create({
            owner,
            repo,
            name: CHECK_NAME,
            head_sha: ref,
            external_id: s.workflowId,
            output,
            ...checkState,
          }),
        );

      for (const [environment, state] of Object.entries(deploymentStates(s)) as Array<[Environment, DeploymentState]>) {
        const found = await call(() => octokit.rest.repos.listDeployments({ owner, repo, sha: ref, environment }));
        let deploymentId = found.data[0]?.id;
        if (!deploymentId) {
          const created = await call(() =>
            octokit.rest.repos.createDeployment({
              owner,
              repo,
              ref,
              environment,
              auto_merge: false,
              required_contexts: [],
              description: `airlock ${s.workflowId}`,
              production_environment: environment === 'production',
            }),
          );
          deploymentId = (created.data as { id: number }).id;
        }
        await call(() =>
          octokit.rest.repos.createDeploymentStatus({
            owner,
            repo,
            deployment_id: deploymentId!,
            state,
            description: checkRunTitle(s).slice(0, 140),
          }),
        );
      }
    },
  };
}
