// Image sets and their conversion to pixel-by-pixel sequences (section 3.2, appendix D.2).
// An image becomes a sequence of shape (height*width, channels), pixels taken
// left-to-right, top-to-bottom, values scaled from 0..255 to [0, 1].
// Batches are time-major like @urgate/cells: inputs[(t * batch + b) * channels + c].

import { Random } from '@urgate/random';
import { bitReversalPermutation } from './permutation.js';

export interface ImageSet {
  name: string;
  count: number;
  height: number;
  width: number;
  channels: number;
  /** count x (height*width) pixels x channels, pixels row-major, channels interleaved. */
  pixels: Uint8Array;
  /** count labels in 0..numClasses-1. */
  labels: Uint8Array;
  numClasses: number;
}

export type PixelOrder = 'sequential' | 'permuted';

/** Checks sizes and labels of a set built from files; `source` names them in errors. */
export function checkImageSet(set: ImageSet, source: string): ImageSet {
  const expected = set.count * set.height * set.width * set.channels;
  if (set.pixels.length !== expected) {
    throw new Error(
      `${source}: ${set.pixels.length} pixel bytes, expected ${expected} for ${set.count} images of ${set.height}x${set.width}x${set.channels}`,
    );
  }
  if (set.labels.length !== set.count) {
    throw new Error(
      `${source}: ${set.labels.length} labels for ${set.count} images, expected one label per image`,
    );
  }
  const bad = set.labels.findIndex((l) => l >= set.numClasses);
  if (bad >= 0) {
    throw new Error(
      `${source}: label ${set.labels[bad]} at index ${bad}, expected a class in 0..${set.numClasses - 1}`,
    );
  }
  return set;
}

/** Images [start, end) of a set, sharing its memory. */
export function sliceImageSet(set: ImageSet, start: number, end: number, name: string): ImageSet {
  const per = set.height * set.width * set.channels;
  return {
    ...set,
    name,
    count: end - start,
    pixels: set.pixels.subarray(start * per, end * per),
    labels: set.labels.subarray(start, end),
  };
}

/** The order in which pixels are read: null for sequential, bit reversal for permuted. */
export function pixelPermutation(order: PixelOrder, length: number): Int32Array | null {
  if (order === 'sequential') return null;
  if (order === 'permuted') return bitReversalPermutation(length);
  throw new Error(`pixel order: expected 'sequential' or 'permuted', got '${String(order)}'`);
}

export interface PixelBatch {
  /** height * width. */
  steps: number;
  batchSize: number;
  /** channels per pixel (1 for MNIST, 3 for CIFAR-10). */
  inputSize: number;
  /** [steps, batch, channels], values in [0, 1]. */
  inputs: Float32Array;
  /** Class of each sequence, read from the last step, [batch]. */
  labels: Int32Array;
  /** Which images of the set, [batch]. */
  indices: Int32Array;
}

/**
 * Sequences of the given images: step t of sample b is pixel permutation[t] (or t) of
 * image indices[b].
 */
export function pixelBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  permutation: Int32Array | null = null,
): PixelBatch {
  const T = set.height * set.width;
  const C = set.channels;
  const B = indices.length;
  if (permutation && permutation.length !== T) {
    throw new Error(
      `pixel permutation: expected length ${T} for ${set.name}, got ${permutation.length}`,
    );
  }
  const inputs = new Float32Array(T * B * C);
  const labels = new Int32Array(B);
  const chosen = Int32Array.from(indices);
  for (let b = 0; b < B; b++) {
    const n = chosen[b];
    if (!Number.isInteger(n) || n < 0 || n >= set.count) {
      throw new Error(
        `${set.name} image index: expected an integer in [0, ${set.count}), got ${n}`,
      );
    }
    labels[b] = set.labels[n];
    const image = n * T * C;
    for (let t = 0; t < T; t++) {
      const src = image + (permutation ? permutation[t] : t) * C;
      const dst = (t * B + b) * C;
      for (let c = 0; c < C; c++) inputs[dst + c] = set.pixels[src + c] / 255;
    }
  }
  return { steps: T, batchSize: B, inputSize: C, inputs, labels, indices: chosen };
}

/** The order in which an epoch visits the images: a seeded shuffle keyed on (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return Random.stream(seed, epoch).shuffle(order);
}

export interface PixelBatchOptions {
  batchSize: number;
  order?: PixelOrder;
  /** Shuffle with epochOrder(count, seed, epoch); omit for the set's own order (evaluation). */
  shuffle?: { seed: number; epoch: number };
  /** Skip a last, smaller batch (default false: it is yielded). */
  dropRemainder?: boolean;
}

/** One epoch of minibatches over a set. */
export function* pixelBatches(set: ImageSet, options: PixelBatchOptions): Generator<PixelBatch> {
  const { batchSize } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize: expected a positive integer, got ${batchSize}`);
  }
  const permutation = pixelPermutation(options.order ?? 'sequential', set.height * set.width);
  const order = options.shuffle
    ? epochOrder(set.count, options.shuffle.seed, options.shuffle.epoch)
    : Int32Array.from({ length: set.count }, (_, i) => i);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(start + batchSize, set.count);
    if (end - start < batchSize && options.dropRemainder) return;
    yield pixelBatch(set, order.subarray(start, end), permutation);
  }
}
