/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): the stream behind `SeededRandom`, which draws
 * the initial parameters and zoneout masks of every model, so they are identical on every
 * backend and machine. (The data generators use xoshiro128** streams, `Random`; this generator
 * is kept for parameters so that existing seeds keep their initialisations.)
 */
export class Mulberry32 {
  private state: number;

  constructor(state: number) {
    this.state = state | 0;
  }

  /** Next 32-bit output as an unsigned integer. */
  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** Seeded uniform numbers with 53 random bits, from a mulberry32 stream keyed on the seed. */
export class SeededRandom {
  private readonly stream: Mulberry32;

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new Error(`seed: expected an integer, got ${JSON.stringify(seed)}`);
    }
    // Fold both 32-bit halves of the seed so that seeds differing only above bit 31 differ.
    const high = Math.floor(seed / 2 ** 32) | 0;
    this.stream = new Mulberry32(seed ^ Math.imul(high, 0x9e3779b9) ^ 0x6d2b79f5);
  }

  /** Uniform on [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.stream.uint32() >>> 5; // 27 bits
    const lo = this.stream.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform on [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }
}
