/** Seeded uniform generator in [0, 1) (mulberry32): reproducible sampling across runs and machines. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of row `row`'s random stream in a batch sampled with `seed`: rows draw independently, so
 * a row's samples do not depend on the other rows or on when they stop.
 */
export function rowSeed(seed: number, row: number): number {
  return (seed ^ Math.imul(row + 1, 0x9e3779b9)) >>> 0;
}

export interface SamplingOptions {
  /** Softmax temperature; 0 picks the most likely token. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 keeps all. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all. */
  topP: number;
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let k = 1; k < logits.length; k++) if (logits[k] > logits[best]) best = k;
  return best;
}

/** Indices of the k largest logits (unordered), by a size-k min-heap. */
function topIndices(logits: Float32Array, k: number): number[] {
  const heap: number[] = [];
  const less = (a: number, b: number) => logits[a] < logits[b];
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let v = 0; v < logits.length; v++) {
    if (heap.length < k) {
      heap.push(v);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!less(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    } else if (logits[v] > logits[heap[0]]) {
      heap[0] = v;
      down(0);
    }
  }
  return heap;
}

/**
 * The log-probability (log-softmax at temperature 1, the model's own distribution) of `token` in a
 * row of logits, and the `k` most likely tokens with theirs, most likely first.
 */
export function tokenLogprobs(
  logits: Float32Array,
  token: number,
  k: number,
): { logprob: number; top: [number, number][] } {
  let max = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < logits.length; v++) max = Math.max(max, logits[v]);
  let sum = 0;
  for (let v = 0; v < logits.length; v++) sum += Math.exp(logits[v] - max);
  const logZ = max + Math.log(sum);
  const top =
    k > 0
      ? topIndices(logits, Math.min(k, logits.length))
          .sort((a, b) => logits[b] - logits[a] || a - b)
          .map((v): [number, number] => [v, logits[v] - logZ])
      : [];
  return { logprob: logits[token] - logZ, top };
}

/** Scratch arrays of `sampleToken`, grown as needed: it runs once per row per step. */
let scratchWeights = new Float64Array(0);
/** The weights' 32-bit words: a positive double's high word orders it as the double does. */
let scratchWords = new Uint32Array(0);
let scratchValues = new Float64Array(0);

/**
 * The top-p search sorts weights into bands by their high word's top 16 bits (exponent and four
 * mantissa bits: 16 bands per halving, monotone in the weight), down to 2^-64 of the heaviest
 * (weight 1); the lighter ones share the last band.
 */
const BANDS = 1024;
const ONE = 0x3ff0; // the top 16 bits of 1.0
const bandMass = new Float64Array(BANDS);
const band = (words: Uint32Array, k: number) =>
  Math.min(BANDS - 1, Math.max(0, ONE - (words[2 * k + 1] >>> 16)));

/**
 * The top-p nucleus of `weights[0..n)` (each in [0, 1], the heaviest 1): the smallest set of the
 * heaviest (ties: lower position first) whose sum reaches `mass`, as every weight above
 * `threshold` and the first `ties` positions whose weight equals it. One pass sums the weights by
 * band and finds the band where the nucleus ends; a quickselect orders only that band's weights.
 * Popping the whole nucleus from a heap in order cost 0.2-0.6 ms a row at p = 0.9-0.95, where a
 * small model's flat distribution keeps thousands of tokens (15-49 ms a step of 64 rows, against
 * a 1 ms model step); a quickselect over all V, 70 µs, mostly mispredicted branches.
 */
function nucleus(
  weights: Float64Array,
  words: Uint32Array,
  n: number,
  mass: number,
): { threshold: number; ties: number } {
  bandMass.fill(0);
  for (let k = 0; k < n; k++) bandMass[band(words, k)] += weights[k];
  let b = 0;
  let before = 0;
  for (; b < BANDS - 1 && before + bandMass[b] < mass; b++) before += bandMass[b];
  let m = 0;
  for (let k = 0; k < n; k++) if (band(words, k) === b) scratchValues[m++] = weights[k];
  return select(scratchValues, m, mass - before);
}

/** `nucleus` within one band: a quickselect over its weights `values[0..m)`, reordered. */
function select(
  values: Float64Array,
  m: number,
  mass: number,
): { threshold: number; ties: number } {
  let lo = 0;
  let hi = m;
  let need = mass;
  let lightest = { threshold: Number.NEGATIVE_INFINITY, ties: 0 };
  while (lo < hi) {
    // Median of three (deterministic: the same row always splits the same way).
    const a = values[lo];
    const b = values[(lo + hi) >> 1];
    const c = values[hi - 1];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    // [lo, above) > pivot, [above, below) = pivot, [below, hi) < pivot; the heavier ones summed.
    let above = lo;
    let below = hi;
    let heavier = 0;
    for (let i = lo; i < below; ) {
      const w = values[i];
      if (w > pivot) {
        heavier += w;
        values[i++] = values[above];
        values[above++] = w;
      } else if (w < pivot) {
        values[i] = values[--below];
        values[below] = w;
      } else i++;
    }
    if (heavier >= need) {
      hi = above; // the nucleus ends among the heavier ones
      continue;
    }
    let sum = heavier;
    for (let ties = 1; ties <= below - above; ties++) {
      sum += pivot;
      if (sum >= need) return { threshold: pivot, ties };
    }
    lightest = { threshold: pivot, ties: below - above };
    need -= sum;
    lo = below; // all of these are in; the nucleus ends among the lighter ones
  }
  // Rounding (the band's sum against its weights summed here, or the row's total) left the band
  // short of `mass`: all of it is in.
  return lightest;
}

/** Draws one token id from a row of logits. */
export function sampleToken(
  logits: Float32Array,
  opts: SamplingOptions,
  uniform: () => number,
): number {
  if (opts.temperature === 0) return argmax(logits);
  const V = logits.length;
  const top = opts.topK > 0 && opts.topK < V ? topIndices(logits, opts.topK) : null;
  const n = top ? top.length : V;
  if (scratchWeights.length < n) {
    scratchWeights = new Float64Array(n);
    scratchWords = new Uint32Array(scratchWeights.buffer);
    scratchValues = new Float64Array(n);
  }
  const weights = scratchWeights;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) max = Math.max(max, logits[top ? top[k] : k]);
  for (let k = 0; k < n; k++)
    weights[k] = Math.exp((logits[top ? top[k] : k] - max) / opts.temperature);
  // The draw walks the candidates in position order, over all of them or over the top-p nucleus
  // (the same set whatever the order, so the same distribution).
  let threshold = Number.NEGATIVE_INFINITY;
  let ties = 0;
  if (opts.topP < 1) {
    let total = 0;
    for (let k = 0; k < n; k++) total += weights[k];
    ({ threshold, ties } = nucleus(weights, scratchWords, n, opts.topP * total));
  }
  // The kept candidates (above the threshold, or among its first `ties` equals) walked in order.
  let total = 0;
  let tiesLeft = ties;
  for (let k = 0; k < n; k++) {
    const w = weights[k];
    if (w > threshold) total += w;
    else if (w === threshold && tiesLeft > 0) {
      total += w;
      tiesLeft--;
    }
  }
  let u = uniform() * total;
  tiesLeft = ties;
  let last = 0;
  for (let k = 0; k < n; k++) {
    const w = weights[k];
    if (w < threshold || w === 0) continue;
    if (w === threshold && tiesLeft-- <= 0) continue;
    last = k; // where rounding leaves the walk short of its uniform: the last token it passed
    u -= w;
    if (u < 0) break;
  }
  return top ? top[last] : last;
}
