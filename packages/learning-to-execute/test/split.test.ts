import { describe, expect, it } from 'vitest';
import {
  DeepMindCurriculum,
  deepMindBatch,
  fnv1a32,
  splitOf,
  ZarembaCurriculum,
  zarembaBatch,
} from '../src/index.js';

describe('splits by program hash', () => {
  it('FNV-1a 32 matches the published test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('train and test programs are disjoint and each belongs to its split (DeepMind)', () => {
    const curriculum = new DeepMindCurriculum({ kind: 'mix', maxLength: 2, maxNesting: 2 });
    const programs = (split: 'train' | 'test') =>
      deepMindBatch({ seed: 0, step: 0, batchSize: 300, curriculum, split }).samples.map(
        (s) => s.program,
      );
    const train = programs('train');
    const test = new Set(programs('test'));
    for (const p of train) {
      expect(splitOf(p)).toBe('train');
      expect(test.has(p)).toBe(false);
    }
    for (const p of test) expect(splitOf(p)).toBe('test');
  });

  it('train and validation programs are disjoint (Zaremba)', () => {
    const curriculum = new ZarembaCurriculum({
      kind: 'baseline',
      targetLength: 1,
      targetNesting: 1,
    });
    const programs = (split: 'train' | 'validation') =>
      zarembaBatch({ seed: 0, step: 0, batchSize: 300, curriculum, split }).samples.map(
        (s) => s.program,
      );
    const validation = new Set(programs('validation'));
    expect(validation.size).toBeGreaterThan(10);
    for (const p of programs('train')) expect(validation.has(p)).toBe(false);
  });

  it('rejects an unknown split', () => {
    const curriculum = new ZarembaCurriculum({ kind: 'naive', targetLength: 1, targetNesting: 1 });
    expect(() =>
      zarembaBatch({ seed: 0, step: 0, batchSize: 1, curriculum, split: 'dev' as never }),
    ).toThrow("split: expected one of train, validation, test, got 'dev'");
  });
});
