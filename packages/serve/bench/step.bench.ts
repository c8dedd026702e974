// Profile of one decoding iteration of a worker (what bounds tokens/s at high concurrency): the
// step graph's session.run alone, stepRows around it (row gather/scatter, tensors; with the
// worker's reused output buffers), and sampling, at B = 1 and B = 64 rows, with 1 and 2
// onnxruntime threads; then a prefill of 64 8-token prompts through the sequence graph as the
// worker reads them (states only) and as it scores them (echo + logprobs), in one run.
//
//   npm run bench:step -w @urgate/serve
//   model: URGATE_BENCH_MODEL (an exported *.step.onnx with its *.sequence.onnx beside it, e.g.
//          the demo's), else random weights of URGATE_BENCH_VOCAB (8000), URGATE_BENCH_HIDDEN
//          (256), URGATE_BENCH_LAYERS (2); URGATE_BENCH_CALLS (40 per measurement)
import { benchSize, machine } from '@urgate/bench';
import {
  batchSampler,
  openModel,
  prefillRows,
  prefillStates,
  STATE_OUTPUTS,
  StepBuffers,
  seededUniform,
  stepRows,
  zeroRowState,
} from '@urgate/onnx/runtime';
import * as ort from 'onnxruntime-node';
import { benchModel } from './harness.js';

const CALLS = benchSize('CALLS', 40);

const model = await benchModel();
const probe = await openModel(model.step);
const { numLayers: L, hiddenSize: d, vocabSize } = probe.metadata.model;
const V = vocabSize as number;
await probe.close();

console.log(
  `UR-LSTM ${L} layer(s), V = ${V}, d = ${d} (${process.env.URGATE_BENCH_MODEL ?? 'random weights'}); ms per call, mean of ${CALLS}`,
);
console.log(`${machine()} at start`);
console.log(
  'threads  B  session.run  stepRows  (set-up+copies)  sample  greedy  tokens/s (stepRows+sample)  x B=1',
);

async function mean(f: () => Promise<unknown>): Promise<number> {
  await f();
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await f();
  return (performance.now() - t0) / CALLS;
}

const sampler = await batchSampler();
const runs: Record<number, number> = {};
for (const threads of [1, 2]) {
  const step = await openModel(model.step, { intraOpThreads: threads });
  const buffers = new StepBuffers();
  let base = 0;
  for (const B of [1, 64]) {
    const states = Array.from({ length: B }, () => zeroRowState(step));
    const tokens = Array.from({ length: B }, (_, b) => (b * 37) % V);
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [B]),
      h_in: new ort.Tensor('float32', new Float32Array(L * B * d), [L, B, d]),
      c_in: new ort.Tensor('float32', new Float32Array(L * B * d), [L, B, d]),
    };
    const run = await mean(() => step.session.run(feeds));
    if (threads === 1) runs[B] = run;
    const rows = await mean(() => stepRows(step, tokens, states, buffers));
    const logits = (await stepRows(step, tokens, states)).slice();
    const draws = (temperature: number) =>
      Array.from({ length: B }, (_, b) => ({
        options: { temperature, topK: 0, topP: 1 },
        uniform: seededUniform(b),
      }));
    const sample = await mean(() => sampler.sample(logits, V, draws(1)));
    const greedy = await mean(() => sampler.sample(logits, V, draws(0)));
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
        greedy.toFixed(2).padStart(7),
        rate.toFixed(0).padStart(27),
        `${(rate / base).toFixed(2)}x`.padStart(6),
      ].join(' '),
    );
  }
  await step.close();
}
console.log(
  `session.run B = 64 / B = 1 (1 thread): ${(runs[64] / runs[1]).toFixed(1)}: batching 64 rows speeds the step up at most ${((64 * runs[1]) / runs[64]).toFixed(1)}x`,
);

// 64 prompts of 8 tokens: the worker reads 7 through the sequence graph (the 8th in the step).
const prompts = Array.from({ length: 64 }, (_, b) =>
  Array.from({ length: 7 }, (_, i) => (b * 31 + i * 7 + 2) % V),
);
const reading = await openModel(model.sequence, { intraOpThreads: 1, outputs: STATE_OUTPUTS });
const scoring = await openModel(model.sequence, { intraOpThreads: 1 });
const read = await mean(() =>
  prefillStates(
    reading,
    prompts.map((tokens) => ({ state: null, tokens })),
  ),
);
const scored = await mean(() =>
  prefillRows(
    scoring,
    prompts.map((tokens) => ({ state: null, tokens, targets: tokens })),
  ),
);
console.log(
  `prefill of 64 prompts x 7 tokens in one call: ${read.toFixed(2)} ms reading (states only), ${scored.toFixed(2)} ms scoring (${(scored / read).toFixed(1)}x)`,
);
