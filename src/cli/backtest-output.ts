// Human output of `airlock backtest`: one line per commit, then per-rule counts and the totals.
import type { BacktestReport } from './backtest-run';

const SUBJECT_WIDTH = 60;

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1).trimEnd()}…`;
}

export function renderBacktest(r: BacktestReport): string {
  const blockers = r.commits.map(
    (c) => [...new Set(c.findings.filter((f) => f.level === 'block').map((f) => f.rule))].join(',') || '-',
  );
  const width = Math.max(...blockers.map((b) => b.length));
  const lines = r.commits.map((c, i) =>
    [
      c.sha.slice(0, 7),
      c.date.slice(0, 10),
      c.decision === 'block' ? 'BLOCK' : 'allow',
      blockers[i].padEnd(width),
      truncate(c.subject, SUBJECT_WIDTH),
    ].join('  '),
  );
  lines.push('');
  if (r.rules.length) {
    const ruleWidth = Math.max(4, ...r.rules.map((c) => c.rule.length));
    lines.push(`${'rule'.padEnd(ruleWidth)}  blocked  only blocker  warned`);
    for (const c of r.rules)
      lines.push(
        `${c.rule.padEnd(ruleWidth)}  ${String(c.blocked).padStart(7)}  ${String(c.onlyBlocker).padStart(12)}  ${String(c.warned).padStart(6)}`,
      );
  } else lines.push('no findings');
  lines.push('');
  const t = r.totals;
  lines.push(
    `${t.commits} commit(s) checked: ${t.allowed} allowed, ${t.blocked} blocked; per check median ${t.medianMs} ms, p95 ${t.p95Ms} ms`,
  );
  lines.push("planned-operation windows evaluated at each commit's committer date");
  return lines.join('\n');
}
