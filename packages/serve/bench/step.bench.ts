// Profile of one decoding iteration of a worker (what bounds tokens/s at high concurrency): the
// step graph's session.run alone, the row gather/scatter and tensor set-up of stepRows around it,
// and sampling, at B = 1 and B = 64 rows, with 1 and 2 onnxruntime threads, in one run.
//
//   npm run bench:step -w @urgate/serve
//   sizes: URGATE_BENCH_VOCAB (8000), URGATE_BENCH_HIDDEN (256), URGATE_BENCH_LAYERS (2),
//          URGATE_BENCH_CALLS (40 per measurement)
import { benchSize, machine } from '@urgate/bench';
import {
  batchSampler,
  openModel,
  seededUniform,
  stepRows,
  zeroRowState,
} from '@urgate/onnx/runtime';
import * as ort from 'onnxruntime-node';
import { benchModel, HIDDEN, LAYERS, V } from './harness.js';

const CALLS = benchSize('CALLS', 40);

const model = await benchModel();
console.log(
  `UR-LSTM ${LAYERS} layers, V = ${V}, E = d = ${HIDDEN} (random weights); ms per call, mean of ${CALLS}`,
);
console.log(`${machine()} at start`);
console.log(
  'threads  B  session.run  stepRows  (set-up+copies)  sample  tokens/s (stepRows+sample)  x B=1',
);

async function mean(f: () => Promise<unknown>): Promise<number> {
  await f();
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await f();
  return (performance.now() - t0) / CALLS;
}

const sampler = await batchSampler();
for (const threads of [1, 2]) {
  const step = await openModel(model.step, { intraOpThreads: threads });
  let base = 0;
  for (const B of [1, 64]) {
    const states = Array.from({ length: B }, () => zeroRowState(step));
    const tokens = Array.from({ length: B }, (_, b) => (b * 37) % V);
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [B]),
      h_in: new ort.Tensor('float32', new Float32Array(LAYERS * B * HIDDEN), [LAYERS, B, HIDDEN]),
      c_in: new ort.Tensor('float32', new Float32Array(LAYERS * B * HIDDEN), [LAYERS, B, HIDDEN]),
    };
    const run = await mean(() => step.session.run(feeds));
    const rows = await mean(() => stepRows(step, tokens, states));
    const logits = await stepRows(step, tokens, states);
    const draws = Array.from({ length: B }, (_, b) => ({
      options: { temperature: 1, topK: 0, topP: 1 },
      uniform: seededUniform(b),
    }));
    const sample = await mean(() => sampler.sample(logits, V, draws));
    const rate = (1000 * B) / (rows + sample);
    if (B === 1) base = rate;
    console.log(
      [
        String(threads).padStart(7),
        String(B).padStart(2),
        run.toFixed(2).padStart(12),
        rows.toFixed(2).padStart(9),
        (rows - run).toFixed(2).padStart(16),
        sample.toFixed(2).padStart(7),
        rate.toFixed(0).padStart(27),
        `${(rate / base).toFixed(2)}x`.padStart(6),
      ].join(' '),
    );
  }
  await step.close();
}
