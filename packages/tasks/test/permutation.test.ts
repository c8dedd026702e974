import { describe, expect, it } from 'vitest';
import { bitReversalPermutation, bitWidth } from '../src/index.js';

// Independent construction with bit strings.
function byStrings(n: number): number[] {
  const k = Math.ceil(Math.log2(n));
  const out: number[] = [];
  for (let j = 0; j < 2 ** k; j++) {
    const s = j.toString(2).padStart(k, '0');
    const r = k === 0 ? 0 : Number.parseInt(s.split('').reverse().join(''), 2);
    if (r < n) out.push(r);
  }
  return out;
}

describe('bit-reversal permutation', () => {
  it('matches hand-worked values for n = 8 and 16', () => {
    expect(Array.from(bitReversalPermutation(8))).toEqual([0, 4, 2, 6, 1, 5, 3, 7]);
    expect(Array.from(bitReversalPermutation(16))).toEqual([
      0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15,
    ]);
  });

  it('for n = 784 uses 10 bits, is a bijection and matches the bit-string construction', () => {
    expect(bitWidth(784)).toBe(10);
    const p = Array.from(bitReversalPermutation(784));
    expect(p.length).toBe(784);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 784 }, (_, i) => i));
    expect(p).toEqual(byStrings(784));
    // rev(1) = 1000000000b = 512 is kept; rev(7) = 896 is dropped, so rev(8) = 64 follows 384.
    expect(p.slice(0, 8)).toEqual([0, 512, 256, 768, 128, 640, 384, 64]);
  });

  it('is a bijection for other lengths (CIFAR 1024, odd sizes, 1)', () => {
    for (const n of [1, 2, 3, 5, 100, 1000, 1024]) {
      const p = Array.from(bitReversalPermutation(n));
      expect(p).toEqual(byStrings(n));
      expect(new Set(p).size).toBe(n);
      expect(Math.max(...p)).toBe(n - 1);
    }
  });

  it('rejects bad n', () => {
    expect(() => bitReversalPermutation(0)).toThrow(/expected an integer in \[1, 2\^30\], got 0/);
  });
});
