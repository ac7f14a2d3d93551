// Kubernetes resource quantities (`512Mi`, `2G`, `1.5Gi`, `129e6`, `100m`) parsed exactly.
// Values are held as BigInt nano-units so `Mi` vs `M` and decimal fractions never round.
const NANO = 1_000_000_000n;

const BINARY: Record<string, bigint> = {
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};
const DECIMAL: Record<string, bigint> = {
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
};
// Sub-unit suffixes, expressed in nano-units directly.
const SUB: Record<string, bigint> = { n: 1n, u: 1_000n, m: 1_000_000n };

// The grammar of k8s.io/apimachinery resource.Quantity: sign, decimal number, one optional suffix.
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A quantity in nano-units (1 byte of memory = 1e9). */
export type Nanos = bigint;

export class QuantityError extends Error {}

/** Parses a quantity; a bare YAML number is accepted as plain units. Throws QuantityError. */
export function parseQuantity(raw: unknown): Nanos {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new QuantityError(`"${raw}" is not a finite number`);
    raw = String(raw);
  }
  if (typeof raw !== 'string')
    throw new QuantityError(`expected a quantity such as "512Mi", got ${JSON.stringify(raw)}`);
  const m = QUANTITY.exec(raw.trim());
  if (!m) throw new QuantityError(`"${raw}" is not a Kubernetes quantity (examples: 512Mi, 2Gi, 1G, 129e6)`);
  const [, sign, number, suffix = ''] = m;
  const [whole, frac = ''] = number.split('.');
  // number = digits / 10^frac.length, kept as an exact fraction until the final division.
  let numerator = BigInt((whole || '0') + frac);
  let denominator = 10n ** BigInt(frac.length);
  if (suffix in SUB) numerator *= SUB[suffix];
  else numerator *= NANO;
  if (suffix in BINARY) numerator *= BINARY[suffix];
  else if (suffix in DECIMAL) numerator *= DECIMAL[suffix];
  else if (/^[eE]/.test(suffix)) {
    const exp = BigInt(suffix.slice(1));
    if (exp >= 0n) numerator *= 10n ** exp;
    else denominator *= 10n ** -exp;
  }
  // Kubernetes rounds fractions of the smallest unit up; so do we.
  let nanos = numerator / denominator + (numerator % denominator ? 1n : 0n);
  if (sign === '-') nanos = -nanos;
  return nanos;
}

/** Human form of a byte quantity in binary units, e.g. `12Gi`, `1.5Gi`, `300Mi`. */
export function formatBytes(nanos: Nanos): string {
  const negative = nanos < 0n;
  const bytes = Number((negative ? -nanos : nanos) / NANO);
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) ((value /= 1024), i++);
  const text = Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, '');
  return `${negative ? '-' : ''}${text}${units[i]}${i === 0 ? ' bytes' : ''}`;
}

/** True when `after` exceeds `before` by more than `percent` percent (exactly `percent` passes). */
export function increasesByMoreThan(before: Nanos, after: Nanos, percent: number): boolean {
  // Scale the percent to millionths so the comparison stays integer-exact.
  const scaled = BigInt(Math.round(percent * 1_000_000));
  return (after - before) * 100_000_000n > before * scaled;
}

/** Increase as a percentage, for messages. */
export function increasePercent(before: Nanos, after: Nanos): number {
  if (before === 0n) return Infinity;
  return Number(((after - before) * 10_000n) / before) / 100;
}
