/**
 * A seed for one use of randomness, from the run seed and integers naming the use (step, layer,
 * purpose). Masks drawn from derived seeds are a pure function of (seed, step), so an
 * interrupted and resumed run draws exactly what an uninterrupted one does.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.floor(seed / 2 ** 32);
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
    h = Math.imul(h, 0x1b873593) ^ 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
