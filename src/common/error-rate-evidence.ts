// The error-rate evidence in words, for every view (status, check run, Slack): each watch's
// sequential test, and a warning when samples came as rates only.
import type { ErrorRateSummary } from '../workflows/messages';

const WATCH_NAMES = { staging: 'staging bake', canary: 'canary', production: 'production watch' } as const;

/** One line per watch whose sequential test has seen samples, then the rate-only warning if any. */
export function errorRateEvidenceLines(summary: ErrorRateSummary): string[] {
  const lines = (Object.keys(WATCH_NAMES) as Array<keyof typeof WATCH_NAMES>)
    .filter((w) => summary.tests?.[w])
    .map((w) => `${WATCH_NAMES[w]}: ${summary.tests![w]}`);
  if (summary.rateOnly)
    lines.push(
      `${summary.rateOnly} sample${summary.rateOnly === 1 ? '' : 's'} carried rates only and were judged one by one (rolls back on noise): send counts (docs/monitoring.md)`,
    );
  return lines;
}
