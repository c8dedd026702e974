import { Random } from '@urgate/random';
import { describe, expect, it } from 'vitest';
import { DeepMindCurriculum, ZarembaCurriculum } from '../src/index.js';

describe('DeepMind curricula', () => {
  it('baseline stays at the target level', () => {
    const c = new DeepMindCurriculum({ kind: 'baseline', maxLength: 9, maxNesting: 4 });
    for (let i = 0; i < 20; i++) expect(c.update(1)).toBe(false);
    expect(c.sample(Random.stream(1))).toEqual({ length: 9, nesting: 4 });
  });

  it('naive advances after minTries losses whose mean relative change is below the threshold', () => {
    const c = new DeepMindCurriculum({ kind: 'naive', maxLength: 2, maxNesting: 2 });
    expect(c.level).toEqual({ length: 1, nesting: 1 });
    // Flat losses: mean difference 0 < 0.1; the 10th call (minTries) decides.
    for (let i = 0; i < 9; i++) expect(c.update(1)).toBe(false);
    expect(c.update(1)).toBe(true);
    expect(c.level).toEqual({ length: 2, nesting: 1 });
    // Rising losses 1..10: mean difference 1 over mean 5.5 = 0.18 >= 0.1: no advance.
    for (let i = 1; i <= 10; i++) expect(c.update(i)).toBe(false);
    // Window keeps the last 10: 2..10 then 10 → differences sum 8 over 9 → 0.889 / mean 6.4 = 0.139.
    expect(c.update(10)).toBe(false);
    for (let i = 0; i < 9; i++) c.update(10);
    // Window now 10 × 10: flat → advance; length is at max so nesting rises.
    expect(c.level).toEqual({ length: 2, nesting: 2 });
    for (let i = 0; i < 20; i++) expect(c.update(10)).toBe(false);
    expect(c.level).toEqual({ length: 2, nesting: 2 });
  });

  it('mix samples the whole range per sample; combine samples up to the current level', () => {
    const rng = Random.stream(2);
    const mix = new DeepMindCurriculum({ kind: 'mix', maxLength: 3, maxNesting: 2 });
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { length, nesting } = mix.sample(rng);
      seen.add(`${length},${nesting}`);
    }
    expect([...seen].sort()).toEqual(['1,1', '1,2', '2,1', '2,2', '3,1', '3,2']);
    const combine = new DeepMindCurriculum({
      kind: 'combine',
      maxLength: 3,
      maxNesting: 2,
      minTries: 5,
    });
    for (let i = 0; i < 5; i++) combine.update(1);
    expect(combine.level).toEqual({ length: 2, nesting: 1 });
    const lengths = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const l = combine.sample(rng);
      expect(l.nesting).toBe(1);
      lengths.add(l.length);
    }
    expect([...lengths].sort()).toEqual([1, 2]);
  });
});

describe('Zaremba curricula', () => {
  it('makeHarder raises length to the target, then resets it and raises nesting', () => {
    const c = new ZarembaCurriculum({ kind: 'naive', targetLength: 2, targetNesting: 3 });
    const levels = [c.level];
    while (c.makeHarder()) levels.push(c.level);
    expect(levels.map((l) => `${l.length},${l.nesting}`)).toEqual([
      '1,1',
      '2,1',
      '1,2',
      '2,2',
      '1,3',
      '2,3',
    ]);
  });

  it('mix redraws the length on every draw; combined mixes with probability 1/5', () => {
    const rng = Random.stream(4);
    const mix = new ZarembaCurriculum({ kind: 'mix', targetLength: 4, targetNesting: 3 });
    const h = mix.hardness(rng);
    const lengths = new Set(Array.from({ length: 100 }, () => h.length()));
    expect([...lengths].sort()).toEqual([1, 2, 3, 4]);
    const combined = new ZarembaCurriculum({ kind: 'combined', targetLength: 9, targetNesting: 3 });
    const ch = combined.hardness(rng);
    const n = 10_000;
    let atLevel = 0;
    for (let i = 0; i < n; i++) if (ch.length() === 1) atLevel++;
    // P(length = 1) = 4/5 + 1/5 · 1/9; sd ~ 0.004.
    expect(Math.abs(atLevel / n - (0.8 + 0.2 / 9))).toBeLessThan(0.02);
    const baseline = new ZarembaCurriculum({ kind: 'baseline', targetLength: 5, targetNesting: 2 });
    const bh = baseline.hardness(rng);
    expect([bh.nesting, bh.length()]).toEqual([2, 5]);
  });

  it('rejects bad settings', () => {
    expect(
      () => new ZarembaCurriculum({ kind: 'blend' as never, targetLength: 2, targetNesting: 2 }),
    ).toThrow("curriculum: expected one of baseline, naive, mix, combined, got 'blend'");
    expect(
      () => new ZarembaCurriculum({ kind: 'mix', targetLength: 10, targetNesting: 2 }),
    ).toThrow('curriculum targetLength: expected an integer in [1, 9], got 10');
  });
});

describe('curriculum state', () => {
  it('a DeepMind curriculum restored from its state takes the same decisions as the original', () => {
    const losses = [5, 4, 3.9, 3.9, 3.8, 3.8, 3.8, 3.8, 3.8, 3.8, 3.7, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    const original = new DeepMindCurriculum({ kind: 'naive', maxLength: 3, maxNesting: 2 });
    for (const l of losses.slice(0, 7)) original.update(l);
    const copy = new DeepMindCurriculum({ kind: 'naive', maxLength: 3, maxNesting: 2 });
    copy.restore(JSON.parse(JSON.stringify(original.state)));
    for (const l of losses.slice(7)) expect(copy.update(l)).toBe(original.update(l));
    expect(copy.state).toEqual(original.state);
    expect(() => copy.restore({ length: 4, nesting: 1, tries: 0, losses: [] })).toThrow(
      /^curriculum state: not a state of this curriculum/,
    );
  });

  it('a Zaremba curriculum restored from its level continues from there', () => {
    const c = new ZarembaCurriculum({ kind: 'naive', targetLength: 3, targetNesting: 2 });
    c.restore({ length: 3, nesting: 1 });
    expect(c.makeHarder()).toBe(true);
    expect(c.level).toEqual({ length: 1, nesting: 2 });
    expect(() => c.restore({ length: 0, nesting: 1 })).toThrow(/^curriculum state/);
  });
});
