import { describe, expect, it } from 'vitest';
import { type Batch, evalBatches, trainBatches, trainLayout } from '../src/index.js';

/** ids[i] = 1000 + i, so every id says where it came from. */
function positions(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => 1000 + i);
}

/** Per stream, the sequence of (input, target, reset) over all windows, masked entries dropped. */
function streams(batches: Batch[]): { inputs: number[]; targets: number[]; resets: number[] }[] {
  const B = batches[0].batch;
  const out = Array.from({ length: B }, () => ({
    inputs: [] as number[],
    targets: [] as number[],
    resets: [] as number[],
  }));
  for (const batch of batches) {
    expect(batch.inputs.length).toBe(batch.steps * B);
    for (let t = 0; t < batch.steps; t++) {
      for (let b = 0; b < B; b++) {
        const k = t * B + b;
        if (!batch.mask[k]) continue;
        out[b].inputs.push(batch.inputs[k]);
        out[b].targets.push(batch.targets[k]);
        out[b].resets.push(batch.resets[k]);
      }
    }
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('training batches', () => {
  const N = 103;
  const ids = positions(N);
  const starts = Uint32Array.from([0, 7, 30, 55, 99, 101]);

  it('cut N - 1 pairs into B equal contiguous streams, each target once, in order', () => {
    const batches = [...trainBatches(ids, starts, { batchSize: 4, bptt: 5 })];
    // L = floor(102 / 4) = 25 pairs per stream: 5 windows of 5 steps.
    expect(batches.map((b) => b.steps)).toEqual([5, 5, 5, 5, 5]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2, 3, 4]);
    const s = streams(batches);
    for (let b = 0; b < 4; b++) {
      expect(s[b].inputs).toEqual(range(1000 + 25 * b, 1000 + 25 * b + 25));
      expect(s[b].targets).toEqual(range(1001 + 25 * b, 1001 + 25 * b + 25));
    }
    const allTargets = s.flatMap((x) => x.targets).sort((a, b) => a - b);
    expect(allTargets).toEqual(range(1001, 1101)); // ids[1..100], each exactly once
    expect(batches.every((b) => b.mask.every((m) => m === 1))).toBe(true);
  });

  it('set reset flags exactly where an article starts', () => {
    const batches = [...trainBatches(ids, starts, { batchSize: 4, bptt: 5 })];
    const startIds = new Set(Array.from(starts, (p) => 1000 + p));
    let flagged = 0;
    for (const batch of batches) {
      for (let k = 0; k < batch.inputs.length; k++) {
        expect(batch.resets[k]).toBe(startIds.has(batch.inputs[k]) ? 1 : 0);
        flagged += batch.resets[k];
      }
    }
    // Inputs are ids[0..99]: the starts 0, 7, 30, 55, 99 are flagged; 101 is in the unused tail.
    expect(flagged).toBe(5);
  });

  it('give a shorter last window and reject bad sizes', () => {
    const batches = [...trainBatches(positions(23), new Uint32Array(), { batchSize: 2, bptt: 4 })];
    expect(batches.map((b) => b.steps)).toEqual([4, 4, 3]); // L = 11
    expect(() => trainLayout(3, 4)).toThrow(/too short for batchSize 4/);
    expect(() => trainBatches(ids, starts, { batchSize: 0, bptt: 5 }).next()).toThrow(
      /batchSize must be a positive integer/,
    );
    expect(() => trainBatches(ids, starts, { batchSize: 2, bptt: 1.5 }).next()).toThrow(
      /bptt must be a positive integer/,
    );
  });
});

describe('evaluation batches', () => {
  const N = 50;
  const ids = positions(N);
  const starts = Uint32Array.from([0, 12, 49]);
  const EOS = 7;

  it('read the split as one stream: every token a target once, the first after <eos>', () => {
    const s = streams([...evalBatches(ids, starts, { bptt: 8, eosId: EOS })]);
    expect(s.length).toBe(1);
    expect(s[0].targets).toEqual(range(1000, 1050));
    expect(s[0].inputs).toEqual([EOS, ...range(1000, 1049)]);
    // The input at step i is ids[i - 1]: articles 0 and 12 are inputs at steps 1 and 13; the
    // last token (49) is only ever a target.
    expect(s[0].resets.flatMap((r, i) => (r ? [i] : []))).toEqual([1, 13]);
  });

  it('with B rows, deal whole article segments so each pair is scored once after the same resets', () => {
    const batches = [...evalBatches(ids, starts, { bptt: 4, eosId: EOS, batchSize: 3 })];
    const s = streams(batches);
    // Resets at stream positions 1 and 13 cut the 50 pairs into segments of 1, 12 and 37 pairs:
    // longest first, each to the least-loaded row.
    expect(s.map((x) => x.targets)).toEqual([range(1013, 1050), range(1001, 1013), [1000]]);
    expect(s.map((x) => x.inputs)).toEqual([range(1012, 1049), range(1000, 1012), [EOS]]);
    // Every row but the one holding the first pair starts at an article (a reset).
    expect(s.map((x) => x.resets[0])).toEqual([1, 1, 0]);
    expect(s.flatMap((x) => x.resets).reduce((a, r) => a + r, 0)).toBe(2);
    expect(batches.map((b) => b.steps)).toEqual([...Array(9).fill(4), 1]);
  });

  it('score the same (input, target, reset after same history) pairs on any number of rows', () => {
    const random = (seed: number) => () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const next = random(7);
    const M = 400;
    const arts = new Set<number>([0]);
    while (arts.size < 25) arts.add(Math.floor(next() * M));
    const articleStarts = Uint32Array.from([...arts].sort((a, b) => a - b));
    const longIds = positions(M);
    // Per pair: its target, and the inputs since the row's last reset (what its state depends on).
    const contexts = (batches: Batch[]) => {
      const out = new Map<number, string>();
      for (const x of streams(batches)) {
        let since: number[] = [];
        x.inputs.forEach((input, i) => {
          if (x.resets[i]) since = [];
          since.push(input);
          out.set(x.targets[i], since.join(','));
        });
      }
      return out;
    };
    const one = contexts([...evalBatches(longIds, articleStarts, { bptt: 16, eosId: EOS })]);
    expect(one.size).toBe(M);
    // Resets at a + 1 below M cut the stream after its first pair into that many more segments.
    const segments = 1 + [...articleStarts].filter((a) => a + 1 < M).length;
    for (const batchSize of [2, 5, segments - 1, segments, 100]) {
      const batches = [...evalBatches(longIds, articleStarts, { bptt: 16, eosId: EOS, batchSize })];
      expect(batches[0].batch).toBe(Math.min(batchSize, segments));
      const masked = batches.reduce((n, b) => n + b.mask.reduce((a, m) => a + m, 0), 0);
      expect(masked).toBe(M);
      expect(contexts(batches)).toEqual(one);
    }
  });
});
