import {
  batchSampler,
  openModel,
  seededUniform,
  stepRows,
  zeroRowState,
} from '@urgate/onnx/runtime';
import { WordTokenizer } from '@urgate/wikitext';
import { lmModel } from '../test/fixture.js';

const V = 8000;
const words = ['<unk>', '<eos>', ...Array.from({ length: V - 2 }, (_, k) => `w${k + 2}`)];
const model = await lmModel({ tokenizer: new WordTokenizer(words), hiddenSize: 256, numLayers: 2 });
const step = await openModel(model.step, { intraOpThreads: 1 });
const sampler = await batchSampler();
for (const B of [1, 64, 1, 64]) {
  const states = Array.from({ length: B }, () => zeroRowState(step));
  const tokens = Array.from({ length: B }, (_, b) => b % V);
  let logits = await stepRows(step, tokens, states);
  const n = 40;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) logits = await stepRows(step, tokens, states);
  const run = (performance.now() - t0) / n;
  const rows = Array.from({ length: B }, () => ({
    options: { temperature: 1, topK: 0, topP: 1 },
    uniform: seededUniform(1),
  }));
  t0 = performance.now();
  for (let i = 0; i < n; i++) await sampler.sample(logits, V, rows);
  const samp = (performance.now() - t0) / n;
  console.log(`B=${B}: step ${run.toFixed(2)} ms, sampling ${samp.toFixed(2)} ms`);
}
