// "Not enough traffic to judge", in the same words in every view (status, check run, Slack, Web UI).
import { formatCount } from './format';

const WATCH_NAMES = { staging: 'staging bake', canary: 'canary', production: 'production watch' } as const;
export type WatchName = keyof typeof WATCH_NAMES;

export function describeWatch(watch: WatchName): string {
  return WATCH_NAMES[watch];
}

/** "not enough traffic to judge the canary: 1,200 requests (about 5,400 needed to catch a doubling of the error rate)" */
export function describeShortfall(watch: WatchName, s: { requests: number; needed: number | null }): string {
  const needed =
    s.needed === null
      ? 'no amount would catch a doubling of the error rate at this baseline'
      : `about ${formatCount(s.needed)} needed to catch a doubling of the error rate`;
  return `not enough traffic to judge the ${WATCH_NAMES[watch]}: ${formatCount(s.requests)} requests (${needed})`;
}
