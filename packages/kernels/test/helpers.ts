// Shared test helpers: a seeded generator and the column count of a layout.

/** Park–Miller generator: reproducible test data without Math.random. */
export class Lcg {
  private state: number;
  constructor(seed: number) {
    this.state = seed;
  }
  next(): number {
    this.state = (this.state * 16807) % 2147483647;
    return this.state / 2147483647;
  }
  /** Uniform in [-scale/2, scale/2). */
  array(length: number, scale: number): Float32Array {
    return Float32Array.from({ length }, () => (this.next() - 0.5) * scale);
  }
  /** Zoneout-style keep mask: 1 with probability `keep`. */
  mask(length: number, keep: number): Float32Array {
    return Float32Array.from({ length }, () => (this.next() < keep ? 1 : 0));
  }
  index(length: number): number {
    return Math.floor(this.next() * length);
  }
}

/** cols of LAYOUT.md's "Block order" table. */
export function columns(
  core: 'lstm' | 'gru',
  mechanism: string,
  d: number,
  downsize: number,
): number {
  const masters = mechanism === 'OM-' || mechanism === 'UM-' ? 2 * (d / downsize) : 0;
  const refine = mechanism === 'R-' || mechanism === 'UR-' || mechanism === 'OR-';
  if (core === 'lstm') return 4 * d + masters;
  return (refine ? 4 * d : 3 * d) + masters;
}
