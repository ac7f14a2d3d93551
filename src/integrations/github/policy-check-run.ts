// The gate before the merge: a check run `Airlock policy` on a pull request's head commit with the
// policy's findings on its base..head, so branch protection can require it. One new run per head
// commit (every push is judged on its own); annotations on the exact file and line of each finding.
import type { Octokit } from '@octokit/rest';
import { decide, type Finding } from '../../policy/engine/finding';
import { waiverNote } from '../../policy/engine/waiver-note';
import { codeSpan, escapeMarkdown as md } from './markdown';

export const POLICY_CHECK_NAME = 'Airlock policy';
/** GitHub takes at most 50 annotations per request; further ones are appended by updates. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** GitHub's limit on output.summary. */
const SUMMARY_MAX = 65_535;

export interface PolicyCheck {
  /** owner/name */
  repository: string;
  baseSha: string;
  headSha: string;
  /** Identified findings (identifyFindings): ids and, for blocking ones, whether waivable. */
  findings: Finding[];
  /** policy approvers.required: how many must sign a waiver. */
  approversRequired: number;
}

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'failure' | 'warning';
  title: string;
  message: string;
}

export interface PolicyCheckOutput {
  conclusion: 'success' | 'failure';
  title: string;
  summary: string;
  annotations: CheckAnnotation[];
}

function annotation(f: Finding & { file: string }, approvers: number): CheckAnnotation {
  // A finding about a whole file (no line) is pinned to its first line.
  const line = f.line ?? 1;
  const note = waiverNote(f, approvers);
  return {
    path: f.file,
    start_line: line,
    end_line: line,
    annotation_level: f.level === 'block' ? 'failure' : 'warning',
    title: `${f.rule} (${f.id ?? 'no id'})`.slice(0, 255),
    message: note ? `${f.message}\n\n${note}` : f.message,
  };
}

function summaryLine(f: Finding, approvers: number): string {
  const where = f.file ? ` ${codeSpan(f.line !== undefined ? `${f.file}:${f.line}` : f.file)}` : '';
  const note = waiverNote(f, approvers);
  return `- **${f.level}** ${codeSpan(f.rule)} (${codeSpan(f.id ?? 'no id')})${where}: ${md(f.message)}${note ? ` — _${note}_` : ''}`;
}

export function policyCheckOutput(c: PolicyCheck): PolicyCheckOutput {
  const blocked = decide(c.findings) === 'block';
  const blocks = c.findings.filter((f) => f.level === 'block');
  const warns = c.findings.length - blocks.length;
  const waivable = blocks.filter((f) => f.waivable).length;
  const title = blocked
    ? `blocked: ${blocks.length} blocking finding(s), ${warns} warning(s)`
    : `allowed: ${warns ? `${warns} warning(s)` : 'no findings'}`;
  const annotations = c.findings
    .filter((f): f is Finding & { file: string } => f.file !== undefined)
    .map((f) => annotation(f, c.approversRequired));
  const head = [
    `**Airlock policy: ${blocked ? 'BLOCK' : 'allow'}** on ${codeSpan(c.baseSha.slice(0, 12))}..${codeSpan(c.headSha.slice(0, 12))}`,
    '',
    `${blocks.length} blocking finding(s) (${waivable} waivable), ${warns} warning(s); ${annotations.length} annotated on their file and line.`,
    blocked
      ? 'Merged as it is, Airlock blocks this change at its gate and deploys nothing. Fix the change; blocking findings marked waivable may instead be lifted after merge by a waiver the approvers sign.'
      : 'Merged as it is, the change passes the policy gate and starts its promotion; the warnings travel with it to the approvers.',
  ];
  const lines = c.findings.map((f) => summaryLine(f, c.approversRequired));
  let summary = [...head, ...(lines.length ? ['', '**Findings**', ...lines] : [])].join('\n');
  if (summary.length > SUMMARY_MAX) {
    // Cut at a whole line and say how many are left out; the annotations still carry them all.
    const kept: string[] = [];
    let size = head.join('\n').length + 40;
    for (const l of lines) {
      if (size + l.length + 80 > SUMMARY_MAX) break;
      kept.push(l);
      size += l.length + 1;
    }
    summary = [
      ...head,
      '',
      '**Findings**',
      ...kept,
      `- … ${lines.length - kept.length} more: see the annotations`,
    ].join('\n');
  }
  return { conclusion: blocked ? 'failure' : 'success', title, summary, annotations };
}

/**
 * Creates the check run (completed, with the first 50 annotations) and appends the rest 50 at a
 * time with updates, as GitHub asks. Returns the check run's id.
 */
export async function postPolicyCheckRun(octokit: Octokit, c: PolicyCheck): Promise<number> {
  const [owner, repo] = c.repository.split('/');
  const { conclusion, title, summary, annotations } = policyCheckOutput(c);
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST)
    batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  const created = await octokit.rest.checks.create({
    owner,
    repo,
    name: POLICY_CHECK_NAME,
    head_sha: c.headSha,
    status: 'completed',
    conclusion,
    output: { title, summary, annotations: batches[0] ?? [] },
  });
  const id = (created.data as { id: number }).id;
  // In order, one at a time: each update appends its annotations to what the run already has.
  for (const batch of batches.slice(1))
    await octokit.rest.checks.update({ owner, repo, check_run_id: id, output: { title, summary, annotations: batch } });
  return id;
}
