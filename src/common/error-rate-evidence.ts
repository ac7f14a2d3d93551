// The error-rate evidence in words, for every view (status, check run, Slack): each watch's
// sequential test, watches without the traffic to judge, a warning when samples came as rates
// only, and alerts not acted on.
import type { ErrorRateSummary } from '../workflows/messages';
import { describeShortfall, describeWatch, type WatchName } from './traffic-shortfall';

const WATCHES: WatchName[] = ['staging', 'canary', 'production'];

/**
 * One line per watch whose sequential test has seen samples, then the rate-only warning, evidence
 * refused as untrusted, and ignored alerts, if any.
 */
export function errorRateEvidenceLines(summary: ErrorRateSummary): string[] {
  const lines = WATCHES.filter((w) => summary.tests?.[w]).map((w) => `${describeWatch(w)}: ${summary.tests![w]}`);
  for (const w of WATCHES) {
    const s = summary.insufficient?.[w];
    if (s) lines.push(describeShortfall(w, s));
  }
  if (summary.rateOnly)
    lines.push(
      `${summary.rateOnly} sample${summary.rateOnly === 1 ? '' : 's'} carried rates only and were judged one by one (rolls back on noise): send counts (docs/monitoring.md)`,
    );
  if (summary.untrusted)
    lines.push(
      `${summary.untrusted} healthy sample${summary.untrusted === 1 ? '' : 's'} from sources the policy does not trust ignored (monitoring.signalSources)`,
    );
  if (summary.futureEvidence)
    lines.push(
      `${summary.futureEvidence} watch result${summary.futureEvidence === 1 ? '' : 's'} dated after workflow time refused (see refusals)`,
    );
  const a = summary.alerts;
  if (a?.ignored) {
    const last = a.recentIgnored[a.recentIgnored.length - 1];
    lines.push(
      `${a.ignored} of ${a.received} firing alert${a.received === 1 ? '' : 's'} not about this change${last ? ` (last: ${last.name}, ${last.reason})` : ''}`,
    );
  }
  return lines;
}
