import { describe, expect, it } from 'vitest';
import {
  ADDING_BASELINE_MSE,
  addingBatch,
  COPY_BASELINE_LOSS,
  copyBatch,
  FORGETTING_SETTINGS,
  forgettingBatch,
} from '../src/index.js';

describe('copy task', () => {
  const N = 30;
  const B = 16;
  const batch = copyBatch({ length: N, batchSize: B, seed: 5, step: 11 });

  it('has N+20 steps: 10 symbols from 1..8, N blanks, ten cues; targets the 10 symbols', () => {
    expect(batch.steps).toBe(N + 20);
    expect(batch.targetStart).toBe(N + 10);
    expect(batch.tokens.length).toBe((N + 20) * B);
    expect(batch.targets.length).toBe(10 * B);
    expect(batch.inputs.length).toBe((N + 20) * B * 10);
    for (let b = 0; b < B; b++) {
      const seq = Array.from({ length: N + 20 }, (_, t) => batch.tokens[t * B + b]);
      const pattern = seq.slice(0, 10);
      for (const s of pattern) expect(s >= 1 && s <= 8).toBe(true);
      expect(seq.slice(10, N + 10)).toEqual(new Array(N).fill(0));
      expect(seq.slice(N + 10)).toEqual(new Array(10).fill(9));
      expect(Array.from({ length: 10 }, (_, k) => batch.targets[k * B + b])).toEqual(pattern);
    }
  });

  it('encodes the tokens one-hot over 10 symbols', () => {
    for (let i = 0; i < batch.tokens.length; i++) {
      const row = Array.from(batch.inputs.subarray(i * 10, i * 10 + 10));
      const expected = new Array(10).fill(0);
      expected[batch.tokens[i]] = 1;
      expect(row).toEqual(expected);
    }
  });

  it('is a pure function of (seed, step); smaller batches are prefixes', () => {
    const again = copyBatch({ length: N, batchSize: B, seed: 5, step: 11 });
    expect(again.tokens).toEqual(batch.tokens);
    expect(again.inputs).toEqual(batch.inputs);
    const small = copyBatch({ length: N, batchSize: 4, seed: 5, step: 11 });
    for (let k = 0; k < 10; k++) {
      expect(Array.from(small.targets.subarray(k * 4, k * 4 + 4))).toEqual(
        Array.from(batch.targets.subarray(k * B, k * B + 4)),
      );
    }
    const next = copyBatch({ length: N, batchSize: B, seed: 5, step: 12 });
    expect(next.targets).not.toEqual(batch.targets);
    const otherSeed = copyBatch({ length: N, batchSize: B, seed: 6, step: 11 });
    expect(otherSeed.targets).not.toEqual(batch.targets);
  });

  it('baseline log 8 is the loss of the best memoryless prediction on generated data', () => {
    const big = copyBatch({ length: 0, batchSize: 4000, seed: 1, step: 0 });
    // Uniform over the 8 data symbols: every target costs exactly -log(1/8).
    let uniform = 0;
    for (const s of big.targets) uniform -= Math.log(s >= 1 && s <= 8 ? 1 / 8 : 0);
    expect(uniform / big.targets.length).toBeCloseTo(COPY_BASELINE_LOSS, 12);
    expect(COPY_BASELINE_LOSS).toBe(Math.log(8));
    // The empirical marginal (the best memoryless predictor in hindsight) approaches it.
    const freq = new Array(10).fill(0);
    for (const s of big.targets) freq[s]++;
    let marginal = 0;
    for (const s of big.targets) marginal -= Math.log(freq[s] / big.targets.length);
    expect(Math.abs(marginal / big.targets.length - Math.log(8))).toBeLessThan(1e-3);
  });

  it('rejects bad arguments with one clear line', () => {
    expect(() => copyBatch({ length: -1, batchSize: 2, seed: 0, step: 0 })).toThrow(
      'copy length: expected a non-negative integer N, got -1',
    );
    expect(() => copyBatch({ length: 5, batchSize: 0, seed: 0, step: 0 })).toThrow(
      'copy batchSize: expected a positive integer, got 0',
    );
    expect(() => copyBatch({ length: 5, batchSize: 2, seed: 0, step: 1.5 })).toThrow(
      'copy step: expected a non-negative integer, got 1.5',
    );
  });
});

describe('adding task', () => {
  const N = 50;
  const B = 32;
  const batch = addingBatch({ length: N, batchSize: B, seed: 2, step: 3 });
  const at = (t: number, b: number, c: number) => batch.inputs[(t * B + b) * 2 + c];

  it('has values in [0,1], one marker in each half, target the marked sum', () => {
    expect(batch.steps).toBe(N);
    expect(batch.inputs.length).toBe(N * B * 2);
    for (let b = 0; b < B; b++) {
      const marked: number[] = [];
      for (let t = 0; t < N; t++) {
        const v = at(t, b, 0);
        expect(v >= 0 && v <= 1).toBe(true);
        const m = at(t, b, 1);
        expect(m === 0 || m === 1).toBe(true);
        if (m === 1) marked.push(t);
      }
      expect(marked.length).toBe(2);
      expect(marked[0]).toBeLessThan(N / 2);
      expect(marked[1]).toBeGreaterThanOrEqual(N / 2);
      expect([batch.markers[2 * b], batch.markers[2 * b + 1]]).toEqual(marked);
      expect(batch.targets[b]).toBe(Math.fround(at(marked[0], b, 0) + at(marked[1], b, 0)));
    }
  });

  it('puts markers anywhere in each half, including its ends', () => {
    const big = addingBatch({ length: 6, batchSize: 600, seed: 9, step: 0 });
    const first = new Set<number>();
    const second = new Set<number>();
    for (let b = 0; b < 600; b++) {
      first.add(big.markers[2 * b]);
      second.add(big.markers[2 * b + 1]);
    }
    expect([...first].sort()).toEqual([0, 1, 2]);
    expect([...second].sort()).toEqual([3, 4, 5]);
  });

  it('is deterministic for (seed, step)', () => {
    expect(addingBatch({ length: N, batchSize: B, seed: 2, step: 3 }).inputs).toEqual(batch.inputs);
    expect(addingBatch({ length: N, batchSize: B, seed: 2, step: 4 }).inputs).not.toEqual(
      batch.inputs,
    );
  });

  it('baseline 1/6 is the MSE of always predicting the mean 1', () => {
    const big = addingBatch({ length: 10, batchSize: 60_000, seed: 4, step: 0 });
    let mse = 0;
    for (const y of big.targets) mse += (y - 1) ** 2;
    mse /= big.targets.length;
    // Var of a sum of two U[0,1] is 1/6; sd of the estimate ~ sqrt(7/180/n) ~ 0.0008.
    expect(Math.abs(mse - ADDING_BASELINE_MSE)).toBeLessThan(0.005);
  });

  it('rejects lengths below 2', () => {
    expect(() => addingBatch({ length: 1, batchSize: 2, seed: 0, step: 0 })).toThrow(
      'adding length: expected an integer N >= 2, got 1',
    );
  });
});

describe('synthetic forgetting', () => {
  it('is the adding task at length 500 with the extreme-bias setting as metadata', () => {
    const batch = forgettingBatch({ batchSize: 3, seed: 1, step: 2 });
    expect(batch.steps).toBe(500);
    expect(batch.inputs).toEqual(
      addingBatch({ length: 500, batchSize: 3, seed: 1, step: 2 }).inputs,
    );
    expect(FORGETTING_SETTINGS).toMatchObject({
      length: 500,
      hiddenSize: 64,
      learningRate: 1e-4,
      gateBias: 6,
    });
  });
});
