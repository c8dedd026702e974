import { describe, expect, it } from 'vitest';
import {
  bitReversalPermutation,
  epochOrder,
  type ImageSet,
  pixelBatch,
  pixelBatches,
  sliceImageSet,
} from '../src/index.js';

// 5 RGB images of 2x4; channel c of pixel p of image n has value 51*c + 4*p + n.
const rgb: ImageSet = {
  name: 'toy',
  count: 5,
  height: 2,
  width: 4,
  channels: 3,
  pixels: Uint8Array.from({ length: 5 * 8 * 3 }, (_, i) => {
    const n = Math.floor(i / 24);
    const p = Math.floor((i % 24) / 3);
    return 51 * (i % 3) + 4 * p + n;
  }),
  labels: Uint8Array.of(0, 1, 2, 3, 4),
  numClasses: 10,
};

describe('pixel sequences', () => {
  it('reads pixels left-to-right, top-to-bottom, channels per pixel, scaled to [0,1]', () => {
    const batch = pixelBatch(rgb, [3, 1]);
    expect(batch).toMatchObject({ steps: 8, batchSize: 2, inputSize: 3 });
    expect(Array.from(batch.labels)).toEqual([3, 1]);
    for (let t = 0; t < 8; t++) {
      for (const [b, n] of [
        [0, 3],
        [1, 1],
      ]) {
        for (let c = 0; c < 3; c++) {
          expect(batch.inputs[(t * 2 + b) * 3 + c]).toBe(Math.fround((51 * c + 4 * t + n) / 255));
        }
      }
    }
  });

  it('permuted order reads pixel perm[t] at step t', () => {
    const perm = bitReversalPermutation(8);
    const batch = pixelBatch(rgb, [2], perm);
    for (let t = 0; t < 8; t++) {
      expect(batch.inputs[t * 3 + 1]).toBe(Math.fround((51 + 4 * perm[t] + 2) / 255));
    }
  });

  it('iterates an epoch in a seeded shuffled order covering every image once', () => {
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const b of pixelBatches(rgb, { batchSize: 2, shuffle: { seed: 1, epoch: 0 } })) {
      seen.push(...b.indices);
      sizes.push(b.batchSize);
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(Array.from(epochOrder(5, 1, 0)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    const dropped = [...pixelBatches(rgb, { batchSize: 2, dropRemainder: true })];
    expect(dropped.map((b) => Array.from(b.indices))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('shuffles deterministically per (seed, epoch)', () => {
    expect(epochOrder(50, 3, 7)).toEqual(epochOrder(50, 3, 7));
    expect(epochOrder(50, 3, 7)).not.toEqual(epochOrder(50, 3, 8));
  });

  it('slices share memory and keep labels aligned', () => {
    const tail = sliceImageSet(rgb, 3, 5, 'tail');
    expect(tail.count).toBe(2);
    expect(Array.from(tail.labels)).toEqual([3, 4]);
    expect(pixelBatch(tail, [0]).inputs).toEqual(pixelBatch(rgb, [3]).inputs);
  });

  it('rejects bad indices, permutations and orders', () => {
    expect(() => pixelBatch(rgb, [5])).toThrow(
      'toy image index: expected an integer in [0, 5), got 5',
    );
    expect(() => pixelBatch(rgb, [0], bitReversalPermutation(16))).toThrow(
      'pixel permutation: expected length 8 for toy, got 16',
    );
    expect(() => [...pixelBatches(rgb, { batchSize: 2, order: 'spiral' as never })]).toThrow(
      "pixel order: expected 'sequential' or 'permuted', got 'spiral'",
    );
  });
});
