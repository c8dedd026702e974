// The worker's sampling takes shortcuts (a quickselect for the top-p nucleus, typed scratch arrays, a
// kept softmax buffer): each draw must be the one a plain implementation makes, token for token.
import { type BatchSampler, batchSampler, sampleToken, seededUniform } from '@urgate/onnx/runtime';
import { describe, expect, it } from 'vitest';

/** Top-p sampling written plainly: sort everything, keep the nucleus, walk it. */
function reference(
  logits: Float32Array,
  opts: { temperature: number; topP: number },
  uniform: () => number,
): number {
  let candidates = [...logits.keys()];
  const max = Math.max(...candidates.map((v) => logits[v]));
  let weights = candidates.map((v) => Math.exp((logits[v] - max) / opts.temperature));
  if (opts.topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0);
    const order = weights.map((_, k) => k).sort((a, b) => weights[b] - weights[a] || a - b);
    const kept: number[] = [];
    let mass = 0;
    for (const k of order) {
      kept.push(k);
      mass += weights[k];
      if (mass >= opts.topP * total) break;
    }
    kept.sort((a, b) => a - b); // the nucleus is walked in vocabulary order
    candidates = kept.map((k) => candidates[k]);
    weights = kept.map((k) => weights[k]);
  }
  let u = uniform() * weights.reduce((a, b) => a + b, 0);
  let last = -1;
  for (let k = 0; k < candidates.length; k++) {
    if (weights[k] === 0) continue;
    last = candidates[k];
    u -= weights[k];
    if (u < 0) return last;
  }
  return last;
}

describe('sampleToken', () => {
  it('draws what the plain sort-everything sampler draws (top-p, ties, -Infinity logits)', () => {
    const r = seededUniform(42);
    for (let trial = 0; trial < 600; trial++) {
      const V = [5, 50, 1000][trial % 3];
      const logits = Float32Array.from({ length: V }, () => {
        const x = (r() * 2 - 1) * ((trial % 7) + 1);
        return trial % 4 === 0 ? Math.round(x) : x; // many ties
      });
      logits[trial % V] = Number.NEGATIVE_INFINITY;
      const opts = {
        temperature: [0.3, 1, 1.7][trial % 3],
        topK: 0,
        topP: [0.9, 0.5, 0.99, 0.05, 0.7, 1][trial % 6],
      };
      const seed = trial * 7 + 1;
      expect(sampleToken(logits, opts, seededUniform(seed))).toBe(
        reference(logits, opts, seededUniform(seed)),
      );
    }
  });

  it('with top-k the draw lies in the k largest and follows their probabilities', () => {
    const logits = Float32Array.from([0, 3, 1, 2.5, -1, 2.9]);
    const counts = new Map<number, number>();
    const u = seededUniform(7);
    for (let i = 0; i < 4000; i++) {
      const t = sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, u);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 5]);
    const p1 = Math.exp(3) / (Math.exp(3) + Math.exp(2.9));
    expect((counts.get(1) ?? 0) / 4000).toBeCloseTo(p1, 1);
  });
});

describe('BatchSampler', () => {
  it('gives the same draws whatever it sampled before (its buffers are reused)', async () => {
    const sampler: BatchSampler = await batchSampler();
    const V = 300;
    const r = seededUniform(5);
    const logits = (B: number) => Float32Array.from({ length: B * V }, () => (r() * 2 - 1) * 6);
    const rows = (B: number, seed: number) =>
      Array.from({ length: B }, (_, b) => ({
        options: { temperature: b % 3 === 0 ? 0 : 0.8, topK: 0, topP: 1 },
        uniform: seededUniform(seed + b),
      }));
    const big = logits(9);
    const small = logits(2);
    const first = await sampler.sample(small, V, rows(2, 1));
    await sampler.sample(big, V, rows(9, 50));
    expect(await sampler.sample(small, V, rows(2, 1))).toEqual(first);
    // A row not sampled (-1) and a partial batch of full-vocabulary rows.
    const mixed = await sampler.sample(big, V, [null, ...rows(8, 3)]);
    expect(mixed[0]).toBe(-1);
    const alone = await sampler.sample(big.subarray(2 * V, 3 * V), V, [rows(8, 3)[1]]);
    expect(mixed[2]).toBe(alone[0]);
  });
});
