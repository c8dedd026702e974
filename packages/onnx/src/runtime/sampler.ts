// Sampling a batch of logit rows with the softmax computed by onnxruntime: over a vocabulary of
// thousands, exp() per token per row in JavaScript costs more than the step graph's whole batch.
// A tiny graph built here (Mul, Softmax) does that part natively; the draw walks the probabilities.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { atLeast } from './batch.js';
import { type SamplingOptions, sampleToken } from './sampling.js';

const { onnx } = onnxProto;

/** (logits [B, V], inv_temperature [B, 1]) -> p [B, V] = softmax(logits / T). */
function softmaxGraph(): Uint8Array {
  const tensor = (name: string, dims: (string | number)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
  const graph = {
    name: 'urgate_sampler',
    node: [
      { opType: 'Mul', input: ['logits', 'inv_temperature'], output: ['scaled'] },
      {
        opType: 'Softmax',
        input: ['scaled'],
        output: ['p'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      },
    ],
    input: [tensor('logits', ['batch', 'vocab']), tensor('inv_temperature', ['batch', 1])],
    output: [tensor('p', ['batch', 'vocab'])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'urgate',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The first index of the largest of `V` values from `offset` (the best value is kept in a local). */
function argmax(logits: Float32Array, offset: number, V: number): number {
  let best = 0;
  let top = logits[offset];
  for (let k = 1; k < V; k++) {
    const x = logits[offset + k];
    if (x > top) {
      top = x;
      best = k;
    }
  }
  return best;
}

/**
 * Draws from F rows of probabilities at once: row i's token is the first index where the running
 * sum of its V probabilities exceeds `uniforms[i]` × their total (the inverse cdf), the total
 * summed in order in a double, as the walk subtracts. Each row's sums are the same additions in the
 * same order as one row alone; four rows go through each loop together, so that the CPU works on
 * four chains of dependent additions at a time instead of waiting on one (a row of V = 4000 is
 * 4000 additions in a chain).
 */
function drawRows(p: Float32Array, F: number, V: number, uniforms: Float64Array, out: Int32Array) {
  let i = 0;
  for (; i + 4 <= F; i += 4) {
    const o0 = i * V;
    const o1 = o0 + V;
    const o2 = o1 + V;
    const o3 = o2 + V;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let v = 0; v < V; v++) {
      t0 += p[o0 + v];
      t1 += p[o1 + v];
      t2 += p[o2 + v];
      t3 += p[o3 + v];
    }
    let u0 = uniforms[i] * t0;
    let u1 = uniforms[i + 1] * t1;
    let u2 = uniforms[i + 2] * t2;
    let u3 = uniforms[i + 3] * t3;
    let r0 = -1;
    let r1 = -1;
    let r2 = -1;
    let r3 = -1;
    for (let v = 0; v < V; v++) {
      if (r0 < 0) {
        u0 -= p[o0 + v];
        if (u0 < 0) r0 = v;
      }
      if (r1 < 0) {
        u1 -= p[o1 + v];
        if (u1 < 0) r1 = v;
      }
      if (r2 < 0) {
        u2 -= p[o2 + v];
        if (u2 < 0) r2 = v;
      }
      if (r3 < 0) {
        u3 -= p[o3 + v];
        if (u3 < 0) r3 = v;
      }
      if (r0 >= 0 && r1 >= 0 && r2 >= 0 && r3 >= 0) break;
    }
    out[i] = r0 >= 0 ? r0 : lastNonZero(p, o0, V);
    out[i + 1] = r1 >= 0 ? r1 : lastNonZero(p, o1, V);
    out[i + 2] = r2 >= 0 ? r2 : lastNonZero(p, o2, V);
    out[i + 3] = r3 >= 0 ? r3 : lastNonZero(p, o3, V);
  }
  for (; i < F; i++) out[i] = draw(p, i * V, V, uniforms[i]);
}

/** `drawRows` for one row. */
function draw(p: Float32Array, offset: number, V: number, uniform: number): number {
  let total = 0;
  for (let v = 0; v < V; v++) total += p[offset + v];
  let u = uniform * total;
  for (let v = 0; v < V; v++) {
    u -= p[offset + v];
    if (u < 0) return v;
  }
  return lastNonZero(p, offset, V);
}

/** Where rounding leaves the walk short of its uniform: the last token with any probability. */
function lastNonZero(p: Float32Array, offset: number, V: number): number {
  let last = V - 1;
  while (last > 0 && p[offset + last] === 0) last--;
  return last;
}

/** One row to sample: its options and its own random stream; null: a row that is not sampled. */
export type SampleRow = { options: SamplingOptions; uniform: () => number } | null;

/**
 * Draws one token per row of a batch of logits. Full-vocabulary rows (no top-k, no top-p) draw
 * from the native softmax with one uniform each; greedy rows take the argmax; top-k / top-p rows go
 * through `sampleToken`. A row's draw depends only on its logits and its own stream.
 */
export class BatchSampler {
  /**
   * Buffers reused from call to call: the full rows' logits (when only some rows are full), their
   * inverse temperatures and the probabilities, which onnxruntime writes in place (a fresh output
   * of [64, 8705] floats cost more than the softmax itself).
   */
  private picked = new Float32Array(0);
  private inv = new Float32Array(0);
  private p = new Float32Array(0);
  private uniforms = new Float64Array(0);
  private drawn = new Int32Array(0);

  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(): Promise<BatchSampler> {
    return new BatchSampler(
      await ort.InferenceSession.create(softmaxGraph(), {
        intraOpNumThreads: 1,
        executionProviders: ['cpu'],
      }),
    );
  }

  /** `logits` is `[rows.length, V]` row-major; returns a token per row (-1 for rows not sampled). */
  async sample(logits: Float32Array, V: number, rows: readonly SampleRow[]): Promise<number[]> {
    const out = rows.map(() => -1);
    const full: number[] = [];
    rows.forEach((r, b) => {
      if (!r) return;
      if (r.options.temperature === 0) out[b] = argmax(logits, b * V, V);
      else if ((r.options.topK > 0 && r.options.topK < V) || r.options.topP < 1)
        out[b] = sampleToken(logits.subarray(b * V, (b + 1) * V), r.options, r.uniform);
      else full.push(b);
    });
    const F = full.length;
    if (F === 0) return out;
    let picked = logits.subarray(0, F * V);
    if (F !== rows.length) {
      this.picked = atLeast(this.picked, F * V);
      picked = this.picked.subarray(0, F * V);
      full.forEach((b, i) => {
        picked.set(logits.subarray(b * V, (b + 1) * V), i * V);
      });
    }
    this.inv = atLeast(this.inv, F);
    full.forEach((b, i) => {
      this.inv[i] = 1 / (rows[b]?.options.temperature as number);
    });
    this.p = atLeast(this.p, F * V);
    const p = this.p.subarray(0, F * V);
    await this.session.run(
      {
        logits: new ort.Tensor('float32', picked, [F, V]),
        inv_temperature: new ort.Tensor('float32', this.inv.subarray(0, F), [F, 1]),
      },
      { p: new ort.Tensor('float32', p, [F, V]) },
    );
    this.uniforms = atLeast(this.uniforms, F);
    this.drawn = atLeast(this.drawn, F);
    // Drawn in row order, as each row's stream gives one uniform per token.
    full.forEach((b, i) => {
      this.uniforms[i] = rows[b]?.uniform() as number;
    });
    drawRows(p, F, V, this.uniforms, this.drawn);
    full.forEach((b, i) => {
      out[b] = this.drawn[i];
    });
    return out;
  }
}

let shared: Promise<BatchSampler> | null = null;

/** One sampler per thread (its session holds no model, only its two operators, Mul and Softmax). */
export function batchSampler(): Promise<BatchSampler> {
  shared ??= BatchSampler.create();
  return shared;
}
