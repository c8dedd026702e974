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

  it('with B streams, their concatenation is the whole split', () => {
    const batches = [...evalBatches(ids, starts, { bptt: 4, eosId: EOS, batchSize: 3 })];
    const s = streams(batches);
    // 50 pairs over 3 streams: 17, 17, 16.
    expect(s.map((x) => x.targets.length)).toEqual([17, 17, 16]);
    expect(s.flatMap((x) => x.targets)).toEqual(range(1000, 1050));
    expect(s.flatMap((x) => x.inputs)).toEqual([EOS, ...range(1000, 1049)]);
    const maskedOut = batches.reduce((n, b) => n + b.mask.reduce((a, m) => a + (1 - m), 0), 0);
    // windows of 4, 4, 4, 4, 1 steps = 17 steps x 3 rows, minus the 50 real pairs
    expect(batches.map((b) => b.steps)).toEqual([4, 4, 4, 4, 1]);
    expect(maskedOut).toBe(17 * 3 - 50);
    for (const x of s) {
      x.inputs.forEach((input, i) => {
        expect(x.resets[i]).toBe(input === 1012 || input === 1049 || input === 1000 ? 1 : 0);
      });
    }
  });
});
