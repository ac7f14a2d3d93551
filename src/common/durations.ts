// Human-readable durations for refusals and status lines. Pure.
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export function formatDuration(ms: number): string {
  // Whole seconds, rounded: a third of a minute is "20s", not "19s".
  const total = Math.round(ms / 1000);
  if (total <= 0) return '0s';
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
