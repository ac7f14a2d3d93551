// Numbers printed for people: durations from fractional policy minutes, rates and rises rounded.
import { describe, expect, test } from 'vitest';
import { formatDuration } from '../../../src/common/durations';
import { formatMinutes, formatRate, formatRise } from '../../../src/common/format';

describe('formatDuration', () => {
  test('whole seconds, rounded to the nearest (a third of a minute is 20 s, not 19 s)', () => {
    expect(formatMinutes(1 / 3)).toBe('20s');
    expect(formatDuration(19_600)).toBe('20s');
    expect(formatDuration(19_400)).toBe('19s');
  });
  test('minutes with seconds below an hour, hours with minutes above', () => {
    expect(formatMinutes(30)).toBe('30m 00s');
    expect(formatMinutes(90)).toBe('1h 30m');
    expect(formatMinutes(24 * 60)).toBe('24h 00m');
    expect(formatDuration(13 * 3_600_000 + 20 * 60_000 + 5_000)).toBe('13h 20m');
  });
  test('nothing left is 0s, never a negative duration', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(-5_000)).toBe('0s');
    expect(formatDuration(400)).toBe('0s');
  });
});

describe('formatRise and formatRate', () => {
  test('floating-point noise is not printed', () => {
    expect(formatRise(209.99999999999997)).toBe('+210%');
    expect(formatRise(5.012)).toBe('+5.0%');
    expect(formatRise(-3)).toBe('-3.0%');
    expect(formatRise(0)).toBe('+0.0%');
  });
  test('an infinite rise (zero baseline) says so', () => {
    expect(formatRise(Infinity)).toBe('+∞%');
  });
  test('rates as percentages with two decimals', () => {
    expect(formatRate(0.0105)).toBe('1.05%');
    expect(formatRate(0.1 + 0.2)).toBe('30.00%');
  });
});
