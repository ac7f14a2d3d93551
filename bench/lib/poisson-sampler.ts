// Seeded randomness for simulations: xoshiro128** (Blackman & Vigna 2018, "Scrambled linear
// pseudorandom number generators") for uniforms with 53 random bits, and an exact Poisson sampler
// by table inversion with a guide table (Chen & Asau 1974; Devroye 1986, "Non-Uniform Random
// Variate Generation", §III.2.4): one uniform and O(1) expected comparisons per draw, for a mean
// that is fixed for many draws (a simulated setting's errors per minute). The table spans
// mean ± 12 standard deviations (+ 20), whose outside mass is far below 2⁻⁵³.
import { logGamma } from '../../src/common/poisson-bound';

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // splitmix32 spreads the seed over the 128-bit state (never all zero).
    let z = seed >>> 0;
    const next = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** 32 random bits. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class PoissonSampler {
  private readonly lo: number;
  private readonly cdf: Float64Array;
  private readonly guide: Int32Array;

  constructor(readonly mean: number) {
    if (!(mean >= 0) || !Number.isFinite(mean)) throw new RangeError(`Poisson mean must be ≥ 0, got ${mean}`);
    const spread = 12 * Math.sqrt(mean) + 20;
    this.lo = Math.max(0, Math.floor(mean - spread));
    const hi = Math.ceil(mean + spread);
    const n = hi - this.lo + 1;
    this.cdf = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const k = this.lo + i;
      acc += mean === 0 ? (k === 0 ? 1 : 0) : Math.exp(k * Math.log(mean) - mean - logGamma(k + 1));
      this.cdf[i] = acc;
    }
    // Normalise away the (negligible) mass outside the table, so the last entry is exactly 1.
    for (let i = 0; i < n; i++) this.cdf[i] /= acc;
    this.cdf[n - 1] = 1;
    this.guide = new Int32Array(n);
    let i = 0;
    for (let j = 0; j < n; j++) {
      while (this.cdf[i] <= j / n) i++;
      this.guide[j] = i;
    }
  }

  draw(random: Random): number {
    const u = random.uniform();
    let i = this.guide[Math.floor(u * this.guide.length)];
    while (this.cdf[i] <= u) i++;
    return this.lo + i;
  }
}
