// Output of `airlock check`: the JSON contract, and human text grouped by file.
import { decide, type Decision, type Finding } from '../policy/engine/finding';

export interface CheckReport {
  decision: Decision;
  findings: {
    id: string | null;
    rule: string;
    level: Finding['level'];
    /** Blocking findings: whether a signed waiver may lift it (policy checks.waivable). */
    waivable: boolean | null;
    file: string | null;
    line: number | null;
    message: string;
  }[];
}

export function checkReport(findings: Finding[]): CheckReport {
  return {
    decision: decide(findings),
    findings: findings.map((f) => ({
      id: f.id ?? null,
      rule: f.rule,
      level: f.level,
      waivable: f.waivable ?? null,
      file: f.file ?? null,
      line: f.line ?? null,
      message: f.message,
    })),
  };
}

export function renderFindings(findings: Finding[]): string {
  const lines: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) byFile.set(f.file ?? '', [...(byFile.get(f.file ?? '') ?? []), f]);
  // Change-wide findings (size, services) first: they are about the whole change.
  const files = [...byFile.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  for (const file of files) {
    lines.push(file === '' ? 'the change as a whole' : file);
    for (const f of byFile.get(file)!) {
      const where = f.line !== undefined ? `line ${f.line}: ` : '';
      const waiver = f.waivable ? ' (waivable)' : '';
      lines.push(`  ${f.level === 'block' ? 'BLOCK' : 'warn '} [${f.rule}]${waiver} ${where}${f.message}`);
    }
    lines.push('');
  }
  lines.push(decisionLine(findings));
  return lines.join('\n');
}

/** The last line of every format: the decision and the counts. */
export function decisionLine(findings: Finding[]): string {
  const blocks = findings.filter((f) => f.level === 'block').length;
  const warns = findings.length - blocks;
  return decide(findings) === 'block'
    ? `decision: BLOCK — ${blocks} blocking finding(s), ${warns} warning(s); nothing will be deployed`
    : `decision: allow — ${warns ? `${warns} warning(s) go to the approvers` : 'no findings'}`;
}
