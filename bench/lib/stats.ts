// Percentiles and ratios for the benchmark table.

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1];
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
}

export function distribution(xs: readonly number[]): Distribution {
  return { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), min: Math.min(...xs), max: Math.max(...xs) };
}

export const ratio = (measured: number, floor: number): number => (floor > 0 ? measured / floor : NaN);

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
