// `airlock check --format github`: each finding as a GitHub Actions workflow command, so a job's
// log and the pull request show it on its file and line (`::error file=…,line=…,title=…::message`),
// then the decision. Escaped as @actions/core escapes them: a message or path cannot end the
// command early or start another one (a newline in a finding's text becomes %0A, not a new line).
import type { Finding } from '../policy/engine/finding';
import { waiverNote } from '../policy/engine/waiver-note';
import { decisionLine } from './check-output';

/** The message part: %, CR and LF encoded. */
export function escapeCommandData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value (file, title): also `:` and `,`, which would end the value. */
export function escapeCommandProperty(text: string): string {
  return escapeCommandData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function command(f: Finding, approversRequired: number): string {
  const properties = [
    ...(f.file !== undefined ? [`file=${escapeCommandProperty(f.file)}`] : []),
    ...(f.file !== undefined && f.line !== undefined ? [`line=${f.line}`] : []),
    `title=${escapeCommandProperty(`airlock ${f.rule} (${f.id ?? 'no id'})`)}`,
  ];
  const note = waiverNote(f, approversRequired);
  const message = note ? `${f.message}\n${note}` : f.message;
  return `::${f.level === 'block' ? 'error' : 'warning'} ${properties.join(',')}::${escapeCommandData(message)}`;
}

export function renderGithubCommands(findings: Finding[], approversRequired: number): string {
  const lines = findings.map((f) => command(f, approversRequired));
  lines.push(`airlock: ${decisionLine(findings)}`);
  return lines.join('\n');
}
