/**
 * One truncated-BPTT window over B parallel streams, time-major: element [t, b] is at t * B + b.
 * `resets[t, b] = 1` means an article starts at inputs[t, b]: zero that row's state before
 * consuming it. `mask[t, b] = 0` marks padding past the end of a shorter stream (evaluation only).
 */
export interface Batch {
  /** Window length T' (the last window of an epoch may be shorter than T). */
  steps: number;
  batch: number;
  inputs: Int32Array;
  targets: Int32Array;
  resets: Uint8Array;
  mask: Uint8Array;
  /** Window number within the epoch; state carries over from window k to k + 1 in every row. */
  index: number;
}

export interface StreamLayout {
  /** Offset in the token array of each stream's first input token. */
  starts: number[];
  /** Number of (input, target) pairs in each stream. */
  lengths: number[];
}

/** First index i with sorted[i] >= value. */
function lowerBound(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${value}`);
}

/**
 * Training layout: the N - 1 (input, target) pairs of the split cut into B equal contiguous
 * streams of L = floor((N - 1) / B) pairs; stream b's inputs are ids[bL .. bL + L - 1] and its
 * targets ids[bL + 1 .. bL + L], so every target from ids[1] to ids[BL] occurs exactly once
 * per epoch. The last (N - 1) mod B tokens (fewer than B) are not used.
 */
export function trainLayout(tokenCount: number, batchSize: number): StreamLayout {
  checkPositiveInt('batchSize', batchSize);
  const length = Math.floor((tokenCount - 1) / batchSize);
  if (length < 1)
    throw new Error(`split of ${tokenCount} tokens is too short for batchSize ${batchSize}`);
  return {
    starts: Array.from({ length: batchSize }, (_, b) => b * length),
    lengths: new Array(batchSize).fill(length),
  };
}

/**
 * Evaluation layout over `pairs` (input, target) pairs: B contiguous streams whose
 * concatenation is the whole sequence (the first pairs mod B streams one pair longer).
 */
export function evalLayout(pairs: number, batchSize = 1): StreamLayout {
  checkPositiveInt('batchSize', batchSize);
  if (pairs < batchSize)
    throw new Error(`split of ${pairs} tokens is too short for batchSize ${batchSize}`);
  const base = Math.floor(pairs / batchSize);
  const extra = pairs % batchSize;
  const starts: number[] = [];
  const lengths: number[] = [];
  let offset = 0;
  for (let b = 0; b < batchSize; b++) {
    starts.push(offset);
    lengths.push(base + (b < extra ? 1 : 0));
    offset += lengths[b];
  }
  return { starts, lengths };
}

/**
 * Windows of at most `bptt` steps over the streams of a layout, in order, on the sequence
 * `ids`, or `[prefix, ...ids]` when a prefix token is given (without copying ids).
 */
export function* windows(
  ids: Int32Array,
  articleStarts: Uint32Array,
  layout: StreamLayout,
  bptt: number,
  prefix?: number,
): Generator<Batch> {
  checkPositiveInt('bptt', bptt);
  const shift = prefix === undefined ? 0 : 1;
  const token = (i: number): number => (i < shift ? (prefix as number) : ids[i - shift]);
  const B = layout.starts.length;
  const longest = Math.max(...layout.lengths);
  for (let i = 0; i < articleStarts.length; i++) {
    if (articleStarts[i] >= ids.length || (i > 0 && articleStarts[i] <= articleStarts[i - 1])) {
      throw new Error(
        `articleStarts must be increasing offsets below ${ids.length} (entry ${i} is ${articleStarts[i]})`,
      );
    }
  }
  for (let t0 = 0, index = 0; t0 < longest; t0 += bptt, index++) {
    const steps = Math.min(bptt, longest - t0);
    const inputs = new Int32Array(steps * B);
    const targets = new Int32Array(steps * B);
    const resets = new Uint8Array(steps * B);
    const mask = new Uint8Array(steps * B);
    for (let b = 0; b < B; b++) {
      const valid = Math.min(steps, layout.lengths[b] - t0);
      const base = layout.starts[b] + t0;
      for (let t = 0; t < valid; t++) {
        const k = t * B + b;
        inputs[k] = token(base + t);
        targets[k] = token(base + t + 1);
        mask[k] = 1;
      }
      // Sequence position i holds ids[i - shift]: flag the article starts within this row's slice.
      for (let j = lowerBound(articleStarts, base - shift); j < articleStarts.length; j++) {
        const t = articleStarts[j] + shift - base;
        if (t >= valid) break;
        resets[t * B + b] = 1;
      }
    }
    yield { steps, batch: B, inputs, targets, resets, mask, index };
  }
}

/** Training windows: B equal contiguous streams (see trainLayout), T = bptt steps each. */
export function trainBatches(
  ids: Int32Array,
  articleStarts: Uint32Array,
  options: { batchSize: number; bptt: number },
): Generator<Batch> {
  return windows(ids, articleStarts, trainLayout(ids.length, options.batchSize), options.bptt);
}

/**
 * Evaluation windows in which every token of the split is a target exactly once: the sequence
 * is the split preceded by one end-of-line token (`eosId`: the split read as if after a blank
 * line), cut into B contiguous streams. batchSize 1 (default) reads it as one stream, the
 * convention for reported perplexities; the mask marks the padding of shorter streams.
 */
export function evalBatches(
  ids: Int32Array,
  articleStarts: Uint32Array,
  options: { bptt: number; eosId: number; batchSize?: number },
): Generator<Batch> {
  return windows(
    ids,
    articleStarts,
    evalLayout(ids.length, options.batchSize ?? 1),
    options.bptt,
    options.eosId,
  );
}

/** Number of windows an epoch yields for a layout. */
export function windowCount(layout: StreamLayout, bptt: number): number {
  return Math.ceil(Math.max(...layout.lengths) / bptt);
}
