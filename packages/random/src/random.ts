// Seeded pseudo-random numbers shared by the data generators (tasks, learning-to-execute).
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/), 32-bit
// outputs with Math.imul, fast enough for millions of draws per batch.
// Seeding: SplitMix64 (same source) turns a key (seed, ...stream ids) into the
// 128-bit xoshiro state, so every (seed, step, sample) has its own independent stream
// and a batch never depends on what was generated before it.

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;

/** SplitMix64's output function: a bijective 64-bit mixer. */
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** SplitMix64 generator (reference: splitmix64.c); used only to seed xoshiro. */
export class SplitMix64 {
  private state: bigint;
  constructor(state: bigint) {
    this.state = state & MASK64;
  }
  next(): bigint {
    this.state = (this.state + GOLDEN_GAMMA) & MASK64;
    return mix64(this.state);
  }
}

function checkKey(value: number, name: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name}: expected a non-negative safe integer, got ${value}`);
  }
  return BigInt(value);
}

/** xoshiro128** with helpers for the draws the tasks need. */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Raw state; must not be all zero. Prefer `Random.stream`. */
  constructor(state: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w >>> 0);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) {
      throw new Error('Random state: expected at least one non-zero word, got all zeros');
    }
  }

  /**
   * Stream keyed on (seed, ...ids): h = sm(seed), then h = sm(h xor id) for each id,
   * where sm(x) is SplitMix64's first output from state x; the xoshiro state is the
   * next two SplitMix64 outputs from h (low word first).
   */
  static stream(seed: number, ...ids: number[]): Random {
    let h = new SplitMix64(checkKey(seed, 'seed')).next();
    ids.forEach((id, k) => {
      h = new SplitMix64(h ^ checkKey(id, `stream id ${k}`)).next();
    });
    const sm = new SplitMix64(h);
    const a = sm.next();
    const b = sm.next();
    const words: [number, number, number, number] = [
      Number(a & 0xffffffffn),
      Number(a >> 32n),
      Number(b & 0xffffffffn),
      Number(b >> 32n),
    ];
    // An all-zero state has probability 2^-128; map it to a fixed valid state.
    if (words.every((w) => w === 0)) words[0] = 1;
    return new Random(words);
  }

  /** Next 32-bit output as an unsigned integer. */
  uint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform on [0, 1) with 24 random bits, so the value is exact in a Float32Array. */
  uniform(): number {
    return (this.uint32() >>> 8) / 16777216;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the incomplete last block). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
      throw new Error(`Random.int: expected an integer bound in [1, 2^32], got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
