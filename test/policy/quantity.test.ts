import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { formatBytes, increasesByMoreThan, parseQuantity, QuantityError } from '../../src/policy/engine/quantity';

const bytes = (q: unknown) => parseQuantity(q) / 1_000_000_000n;

describe('Kubernetes quantities', () => {
  it('tells binary from decimal suffixes', () => {
    assert.equal(bytes('1Mi'), 1_048_576n);
    assert.equal(bytes('1M'), 1_000_000n);
    assert.equal(bytes('2Gi'), 2_147_483_648n);
    assert.equal(bytes('2G'), 2_000_000_000n);
    assert.equal(bytes('1Ki'), 1024n);
    assert.equal(bytes('1k'), 1000n);
  });

  it('reads plain bytes, YAML numbers, fractions and e notation exactly', () => {
    assert.equal(bytes('805306368'), 805_306_368n);
    assert.equal(bytes(805306368), 805_306_368n);
    assert.equal(bytes('1.5Gi'), 1_610_612_736n);
    assert.equal(bytes('0.5Gi'), 536_870_912n);
    assert.equal(bytes('129e6'), 129_000_000n);
    assert.equal(bytes('1.29E8'), 129_000_000n);
    assert.equal(parseQuantity('100m'), 100_000_000n); // 0.1 byte, in nano-units
    assert.equal(parseQuantity('1e-9'), 1n);
  });

  it('refuses what Kubernetes refuses, saying what it got', () => {
    for (const bad of ['2 Gigs', '1GB', 'Gi', '', '1.2.3Mi', '0x10', null, true]) {
      assert.throws(() => parseQuantity(bad), QuantityError, String(bad));
    }
    assert.throws(() => parseQuantity('2 Gigs'), /"2 Gigs" is not a Kubernetes quantity/);
  });

  it('exactly +50 % is not more than 50 %; one byte more is', () => {
    const before = parseQuantity('512Mi');
    assert.equal(increasesByMoreThan(before, parseQuantity('768Mi'), 50), false);
    assert.equal(increasesByMoreThan(before, parseQuantity('805306369'), 50), true);
    assert.equal(increasesByMoreThan(parseQuantity('1Gi'), parseQuantity('1.6G'), 50), false);
    assert.equal(increasesByMoreThan(parseQuantity('500M'), parseQuantity('1Gi'), 50), true);
    assert.equal(increasesByMoreThan(parseQuantity('1Gi'), parseQuantity('512Mi'), 50), false);
  });

  it('formats bytes in binary units for messages', () => {
    assert.equal(formatBytes(parseQuantity('12Gi')), '12Gi');
    assert.equal(formatBytes(parseQuantity('1.5Gi')), '1.5Gi');
    assert.equal(formatBytes(parseQuantity('512')), '512 bytes');
  });
});
