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
 * The first index where the running sum of the `V` probabilities from `offset` exceeds `uniform` ×
 * their total (the inverse cdf); the total is summed in order in a double, as the walk subtracts.
 */
function draw(p: Float32Array, offset: number, V: number, uniform: number): number {
  let total = 0;
  for (let v = 0; v < V; v++) total += p[offset + v];
  let u = uniform * total;
  for (let v = 0; v < V; v++) {
    u -= p[offset + v];
    if (u < 0) return v;
  }
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
    full.forEach((b, i) => {
      out[b] = draw(p, i * V, V, rows[b]?.uniform() as number);
    });
    return out;
  }
}

let shared: Promise<BatchSampler> | null = null;

/** One sampler per thread (its session holds no model, only the three operators). */
export function batchSampler(): Promise<BatchSampler> {
  shared ??= BatchSampler.create();
  return shared;
}
