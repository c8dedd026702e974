// Sampling a batch of logit rows with the softmax computed by onnxruntime: over a vocabulary of
// thousands, exp() per token per row in JavaScript costs more than the step graph's whole batch.
// A tiny graph built here (Mul, Softmax) does that part natively; the draw walks the probabilities.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
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

function argmax(row: Float32Array): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

/** The first index where the running sum of `p` exceeds `uniform` × its total (the inverse cdf). */
function draw(p: Float32Array, uniform: number): number {
  let total = 0;
  for (let v = 0; v < p.length; v++) total += p[v];
  let u = uniform * total;
  for (let v = 0; v < p.length; v++) {
    u -= p[v];
    if (u < 0) return v;
  }
  let last = p.length - 1;
  while (last > 0 && p[last] === 0) last--;
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
    const p = r.p.data as Float32Array;
    full.forEach((b, i) => {
      out[b] = draw(p.subarray(i * V, (i + 1) * V), rows[b]?.uniform() as number);
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
