/**
 * Seeded uniform random numbers (SplitMix64 reduced to 32-bit state words), so that
 * initial parameters and zoneout masks are identical on every backend and machine.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new Error(`seed: expected an integer, got ${JSON.stringify(seed)}`);
    }
    // Fold both 32-bit halves of the seed so that seeds differing only above bit 31 differ.
    const high = Math.floor(seed / 2 ** 32) | 0;
    this.state = (seed ^ Math.imul(high, 0x9e3779b9) ^ 0x6d2b79f5) | 0;
  }

  /** Next 32-bit output of mulberry32. */
  private nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform on [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }
}
