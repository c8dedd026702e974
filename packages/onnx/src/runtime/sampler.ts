// Sampling a batch of logit rows with the softmax and its running sum computed by onnxruntime:
// over a vocabulary of thousands, exp() per token per row in JavaScript costs more than the step
// graph's whole batch. A tiny graph built here (Mul, Softmax, CumSum) does that part natively.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { type SamplingOptions, sampleToken } from './sampling.js';

const { onnx } = onnxProto;

/** (logits [B, V], inv_temperature [B, 1]) -> cdf [B, V]: running sums of softmax(logits / T). */
function cdfGraph(): Uint8Array {
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
      { opType: 'CumSum', input: ['p', 'axis'], output: ['cdf'] },
    ],
    initializer: [
      { name: 'axis', dataType: onnx.TensorProto.DataType.INT64, dims: [], int64Data: [1] },
    ],
    input: [tensor('logits', ['batch', 'vocab']), tensor('inv_temperature', ['batch', 1])],
    output: [tensor('cdf', ['batch', 'vocab'])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'urgate',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

/** The first index whose running sum exceeds u (the inverse of the cdf). */
function search(cdf: Float32Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** One row to sample: its options and its own random stream; null: a row that is not sampled. */
export type SampleRow = { options: SamplingOptions; uniform: () => number } | null;

/**
 * Draws one token per row of a batch of logits. Full-vocabulary rows (no top-k, no top-p) draw
 * from the native cdf with one uniform each; greedy rows take the argmax; top-k / top-p rows go
 * through `sampleToken`. A row's draw depends only on its logits and its own stream.
 */
export class BatchSampler {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(): Promise<BatchSampler> {
    return new BatchSampler(
      await ort.InferenceSession.create(cdfGraph(), {
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
      const row = logits.subarray(b * V, (b + 1) * V);
      if (r.options.temperature === 0) out[b] = argmax(row);
      else if ((r.options.topK > 0 && r.options.topK < V) || r.options.topP < 1)
        out[b] = sampleToken(row, r.options, r.uniform);
      else full.push(b);
    });
    if (full.length === 0) return out;
    const picked = full.length === rows.length ? logits : new Float32Array(full.length * V);
    if (picked !== logits)
      full.forEach((b, i) => {
        picked.set(logits.subarray(b * V, (b + 1) * V), i * V);
      });
    const inv = Float32Array.from(full, (b) => 1 / (rows[b]?.options.temperature as number));
    const r = await this.session.run({
      logits: new ort.Tensor('float32', picked, [full.length, V]),
      inv_temperature: new ort.Tensor('float32', inv, [full.length, 1]),
    });
    const cdf = r.cdf.data as Float32Array;
    full.forEach((b, i) => {
      const row = cdf.subarray(i * V, (i + 1) * V);
      out[b] = search(row, (rows[b]?.uniform() as number) * row[V - 1]);
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
