import { describe, expect, it } from 'vitest';
import { Mulberry32, SeededRandom } from '../src/index.js';

describe('Mulberry32 and SeededRandom', () => {
  it('mulberry32 matches the reference C implementation', () => {
    // Outputs of the reference mulberry32 (uint32_t t = *a += 0x6D2B79F5; ...) compiled with
    // gcc, from states 0 and 123456789.
    const a = new Mulberry32(0);
    expect(Array.from({ length: 4 }, () => a.uint32())).toEqual([
      1144304738, 1416247, 958946056, 627933444,
    ]);
    const b = new Mulberry32(123456789);
    expect(Array.from({ length: 4 }, () => b.uint32())).toEqual([
      1107202814, 4169434471, 3372958138, 885470128,
    ]);
  });

  it('SeededRandom draws 53-bit uniforms from the stream keyed on the seed', () => {
    const s = new Mulberry32(7 ^ 0x6d2b79f5);
    const hi = s.uint32() >>> 5;
    const lo = s.uint32() >>> 6;
    expect(new SeededRandom(7).next()).toBe((hi * 2 ** 26 + lo) / 2 ** 53);
    expect(new SeededRandom(2 ** 40 + 7).next()).not.toBe(new SeededRandom(7).next());
    expect(() => new SeededRandom(0.5)).toThrow(/^seed: expected an integer, got 0.5/);
  });
});
