import { describe, expect, it } from 'vitest';
import { Random, SplitMix64 } from '../src/index.js';

describe('Random (xoshiro128**) and SplitMix64', () => {
  it('matches the reference C implementations (prng.di.unimi.it)', () => {
    // Outputs of xoshiro128starstar.c from state {1,2,3,4} and splitmix64.c from
    // states 0 and 1234567, compiled with gcc and printed.
    const x = new Random([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => x.uint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492,
    ]);
    const a = new SplitMix64(0n);
    expect([a.next(), a.next(), a.next()]).toEqual([
      16294208416658607535n,
      7960286522194355700n,
      487617019471545679n,
    ]);
    const b = new SplitMix64(1234567n);
    expect([b.next(), b.next(), b.next()]).toEqual([
      6457827717110365317n,
      3203168211198807973n,
      9817491932198370423n,
    ]);
  });

  it('derives streams deterministically from the key, different keys differ', () => {
    const draw = (r: Random) => Array.from({ length: 8 }, () => r.uint32());
    expect(draw(Random.stream(7, 3, 5))).toEqual(draw(Random.stream(7, 3, 5)));
    expect(draw(Random.stream(7, 3, 5))).not.toEqual(draw(Random.stream(7, 5, 3)));
    expect(draw(Random.stream(7, 3))).not.toEqual(draw(Random.stream(8, 3)));
  });

  it('draws uniform integers and floats in range with the right frequencies', () => {
    const r = Random.stream(1);
    const counts = new Array(7).fill(0);
    const n = 70_000;
    let sum = 0;
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      counts[r.int(7)]++;
      const u = r.uniform();
      if (!(u >= 0 && u < 1) || Math.fround(u) !== u) outOfRange++;
      sum += u;
    }
    expect(outOfRange).toBe(0);
    // Each count ~ Binomial(70000, 1/7): sd ~ 92; 6 sd bounds.
    for (const c of counts) expect(Math.abs(c - n / 7)).toBeLessThan(6 * 92);
    // Mean of U[0,1): sd of the mean sqrt(1/12/n) ~ 0.0011.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.007);
  });

  it('shuffles into a permutation', () => {
    const a = Random.stream(3).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('rejects bad keys and bounds', () => {
    expect(() => Random.stream(-1)).toThrow(/seed: expected a non-negative safe integer, got -1/);
    expect(() => Random.stream(1, 0.5)).toThrow(/stream id 0/);
    expect(() => Random.stream(1).int(0)).toThrow(/expected an integer bound/);
    expect(() => new Random([0, 0, 0, 0])).toThrow(/all zeros/);
  });
});
