// Numbers for people: error rates and rises rounded to what a decision needs, minutes from the
// policy as durations. Pure (workflow code uses these for summaries and the Web UI's details).
import { formatDuration, MINUTE_MS } from './durations';

/** A fraction as a percentage: 0.0105 → "1.05%". */
export function formatRate(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** A relative rise in percent: 209.99999999999997 → "+210%", 5.012 → "+5.0%", -3 → "-3.0%". */
export function formatRise(percent: number): string {
  if (!Number.isFinite(percent)) return percent > 0 ? '+∞%' : '-∞%';
  const digits = Math.abs(percent) >= 100 ? 0 : 1;
  const text = Math.abs(percent).toFixed(digits);
  return `${percent < 0 ? '-' : '+'}${text}%`;
}

/** Policy minutes as a duration: 0.3333333333333333 → "20s", 30 → "30m 00s", 90 → "1h 30m". */
export function formatMinutes(minutes: number): string {
  return formatDuration(minutes * MINUTE_MS);
}

/** 12,345: thousands separators by hand, no Intl (workflow code; its data may differ between workers). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
