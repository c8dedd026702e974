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

/** Draws one token id from a row of logits. */
export function sampleToken(
  logits: Float32Array,
  opts: SamplingOptions,
  uniform: () => number,
): number {
  if (opts.temperature === 0) return argmax(logits);
  let candidates =
    opts.topK > 0 && opts.topK < logits.length
      ? topIndices(logits, opts.topK)
      : Array.from(logits.keys());
  let max = Number.NEGATIVE_INFINITY;
  for (const v of candidates) max = Math.max(max, logits[v]);
  let weights = candidates.map((v) => Math.exp((logits[v] - max) / opts.temperature));
  if (opts.topP < 1) {
    const order = candidates.map((_, k) => k).sort((a, b) => weights[b] - weights[a]);
    const total = weights.reduce((a, b) => a + b, 0);
    const kept: number[] = [];
    let mass = 0;
    for (const k of order) {
      kept.push(k);
      mass += weights[k];
      if (mass >= opts.topP * total) break;
    }
    candidates = kept.map((k) => candidates[k]);
    weights = kept.map((k) => weights[k]);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  let u = uniform() * total;
  for (let k = 0; k < candidates.length; k++) {
    u -= weights[k];
    if (u < 0) return candidates[k];
  }
  return candidates[candidates.length - 1];
}
