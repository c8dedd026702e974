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

/** A run of consecutive (input, target) pairs of the sequence: positions start .. start + length - 1. */
export interface Segment {
  start: number;
  length: number;
}

/** The pairs each of the B rows reads, in order: a row's stream is its segments end to end. */
export interface StreamLayout {
  rows: Segment[][];
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

/** Pairs in a row (a loop, not Math.max(...): a layout may have millions of rows). */
function rowLength(row: Segment[]): number {
  let n = 0;
  for (const segment of row) n += segment.length;
  return n;
}

function longestRow(layout: StreamLayout): number {
  let longest = 0;
  for (const row of layout.rows) longest = Math.max(longest, rowLength(row));
  return longest;
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
  return { rows: Array.from({ length: batchSize }, (_, b) => [{ start: b * length, length }]) };
}

/**
 * Evaluation layout over the `pairs` pairs of the one stream whose state is zeroed at each
 * position in `resetAt` (increasing). Those resets cut the stream into segments that each start
 * from a zero state and depend on no other, so they can be scored on B rows at once with the
 * same per-pair results: whole segments are dealt longest first, each to the least-loaded row
 * (ties: the lower row), and a row reads its segments in stream order. The first segment, which
 * starts without a reset, is first in its row, where the state starts at zero. Fewer segments
 * than B give fewer rows. batchSize 1 is the one stream itself.
 */
export function evalLayout(pairs: number, resetAt: ArrayLike<number>, batchSize = 1): StreamLayout {
  checkPositiveInt('batchSize', batchSize);
  checkPositiveInt('pairs', pairs);
  const cuts = [0];
  for (let i = 0; i < resetAt.length; i++)
    if (resetAt[i] > 0 && resetAt[i] < pairs) cuts.push(resetAt[i]);
  cuts.push(pairs);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < cuts.length; i++)
    segments.push({ start: cuts[i], length: cuts[i + 1] - cuts[i] });
  const order = segments
    .map((segment, i) => ({ segment, i }))
    .sort((a, b) => b.segment.length - a.segment.length || a.i - b.i);
  const rows: Segment[][] = Array.from({ length: Math.min(batchSize, segments.length) }, () => []);
  const loads = new Array<number>(rows.length).fill(0);
  for (const { segment } of order) {
    let lightest = 0;
    for (let b = 1; b < rows.length; b++) if (loads[b] < loads[lightest]) lightest = b;
    rows[lightest].push(segment);
    loads[lightest] += segment.length;
  }
  for (const row of rows) row.sort((a, b) => a.start - b.start);
  return { rows };
}

/**
 * Windows of at most `bptt` steps over the rows of a layout, in order, on the sequence `ids`,
 * or `[prefix, ...ids]` when a prefix token is given (without copying ids). Pair i has input
 * sequence[i] and target sequence[i + 1]; it is flagged as a reset where sequence[i] starts an
 * article.
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
  const B = layout.rows.length;
  const longest = longestRow(layout);
  for (let i = 0; i < articleStarts.length; i++) {
    if (articleStarts[i] >= ids.length || (i > 0 && articleStarts[i] <= articleStarts[i - 1])) {
      throw new Error(
        `articleStarts must be increasing offsets below ${ids.length} (entry ${i} is ${articleStarts[i]})`,
      );
    }
  }
  // Per row, where the next window starts: its segment and the offset within it.
  const segmentAt = new Array<number>(B).fill(0);
  const offsetAt = new Array<number>(B).fill(0);
  for (let t0 = 0, index = 0; t0 < longest; t0 += bptt, index++) {
    const steps = Math.min(bptt, longest - t0);
    const inputs = new Int32Array(steps * B);
    const targets = new Int32Array(steps * B);
    const resets = new Uint8Array(steps * B);
    const mask = new Uint8Array(steps * B);
    for (let b = 0; b < B; b++) {
      const row = layout.rows[b];
      let t = 0;
      while (t < steps && segmentAt[b] < row.length) {
        const segment = row[segmentAt[b]];
        const n = Math.min(steps - t, segment.length - offsetAt[b]);
        const base = segment.start + offsetAt[b] - t;
        for (let u = t; u < t + n; u++) {
          const k = u * B + b;
          inputs[k] = token(base + u);
          targets[k] = token(base + u + 1);
          mask[k] = 1;
        }
        // Sequence position i holds ids[i - shift]: flag the article starts among these inputs.
        for (let j = lowerBound(articleStarts, base + t - shift); j < articleStarts.length; j++) {
          const u = articleStarts[j] + shift - base;
          if (u >= t + n) break;
          resets[u * B + b] = 1;
        }
        t += n;
        offsetAt[b] += n;
        if (offsetAt[b] === segment.length) {
          segmentAt[b]++;
          offsetAt[b] = 0;
        }
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
 * line), its state zeroed where each article starts, the convention for reported perplexities.
 * batchSize 1 (default) reads it as that one stream; B > 1 scores its article segments on B rows
 * at once (see evalLayout) with the same per-token results. The mask marks the padding of
 * shorter rows.
 */
export function evalBatches(
  ids: Int32Array,
  articleStarts: Uint32Array,
  options: { bptt: number; eosId: number; batchSize?: number },
): Generator<Batch> {
  // The prefix shifts the sequence by one: the article starting at ids[a] is input at a + 1.
  const resetAt = Array.from(articleStarts, (a) => a + 1);
  return windows(
    ids,
    articleStarts,
    evalLayout(ids.length, resetAt, options.batchSize ?? 1),
    options.bptt,
    options.eosId,
  );
}

/** Number of windows an epoch yields for a layout. */
export function windowCount(layout: StreamLayout, bptt: number): number {
  return Math.ceil(longestRow(layout) / bptt);
}
