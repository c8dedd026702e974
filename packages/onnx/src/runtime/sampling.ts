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
let scratchOrder = new Int32Array(0);

/**
 * Positions 0..n-1 in the order of `weights` descending, ties by position (a stable sort's order),
 * taken from a max-heap until their mass reaches `mass` (all of them at most): top-p keeps a few
 * of V, and a heap finds them in O(V + kept·log V) where sorting all V cost O(V log V). Writes
 * them into `out` and returns how many.
 */
function heaviestUntil(weights: Float64Array, n: number, mass: number, out: Int32Array): number {
  const heap = out; // positions, heap-ordered; the popped ones fill it from the back
  for (let k = 0; k < n; k++) heap[k] = k;
  const before = (a: number, b: number) =>
    weights[a] > weights[b] || (weights[a] === weights[b] && a < b);
  const down = (i: number, size: number) => {
    for (;;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < size && before(heap[l], heap[m])) m = l;
      if (l + 1 < size && before(heap[l + 1], heap[m])) m = l + 1;
      if (m === i) return;
      const t = heap[i];
      heap[i] = heap[m];
      heap[m] = t;
      i = m;
    }
  };
  for (let i = (n >> 1) - 1; i >= 0; i--) down(i, n);
  let size = n;
  let sum = 0;
  while (size > 0) {
    const top = heap[0];
    size--;
    heap[0] = heap[size];
    heap[size] = top;
    down(0, size);
    sum += weights[top];
    if (sum >= mass) break;
  }
  // Popped in order at n-1, n-2, …: reversed in place, then moved to the front.
  for (let i = size, j = n - 1; i < j; i++, j--) {
    const t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
  }
  out.copyWithin(0, size, n);
  return n - size;
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
    scratchOrder = new Int32Array(n);
  }
  const weights = scratchWeights;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) max = Math.max(max, logits[top ? top[k] : k]);
  for (let k = 0; k < n; k++)
    weights[k] = Math.exp((logits[top ? top[k] : k] - max) / opts.temperature);
  // The draw walks `order` (positions into the candidates): all of them, or the top-p nucleus,
  // heaviest first.
  let order: Int32Array | null = null;
  let count = n;
  if (opts.topP < 1) {
    let total = 0;
    for (let k = 0; k < n; k++) total += weights[k];
    order = scratchOrder;
    count = heaviestUntil(weights, n, opts.topP * total, order);
  }
  let total = 0;
  for (let k = 0; k < count; k++) total += weights[order ? order[k] : k];
  let u = uniform() * total;
  const token = (k: number) => {
    const at = order ? order[k] : k;
    return top ? top[at] : at;
  };
  for (let k = 0; k < count; k++) {
    u -= weights[order ? order[k] : k];
    if (u < 0) return token(k);
  }
  return token(count - 1);
}
