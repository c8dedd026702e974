// ORT inference of an exported UR-LSTM language model next to the tfjs reference forward pass of the
// same checkpoint, in one run (this machine is noisy: compare the ratios). Sizes: URGATE_BENCH_* env.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { benchSize, machine, timed } from '@urgate/bench';
import { SeededRandom } from '@urgate/random';
import { exportCheckpoint } from '../src/index.js';
import {
  generate,
  openModel,
  scoreTokens,
  scoreWindow,
  zeroScoreState,
} from '../src/runtime/index.js';
import { lmCheckpoint, type TinyLm, writeCheckpoint } from '../test/fixtures.js';
import { type RefState, referenceSequence, referenceStep } from '../test/reference.js';

const V = benchSize('VOCAB', 8000);
const H = benchSize('HIDDEN', 512);
const L = benchSize('LAYERS', 2);
const T = benchSize('CHUNK', 64);
const SCORE_B = benchSize('SCORE_BATCH', 16);
const GEN_B = benchSize('GEN_BATCH', 32);

const model: TinyLm = {
  core: 'lstm',
  mechanism: 'UR-',
  numLayers: L,
  vocabSize: V,
  embeddingSize: H,
  hiddenSize: H,
  downsize: 16,
  layerNorm: false,
  tiedEmbeddings: false,
  fixedGateOffset: false,
  zoneout: null,
};

/** UR-LSTM L x H, V words: ORT scoring and generation next to the tfjs reference. */
async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'urgate-onnx-bench-'));
  const ckpt = lmCheckpoint(model, 1);
  const path = join(dir, 'urlstm.safetensors');
  await writeCheckpoint(path, ckpt);
  const [files, exportSeconds] = await timed(() => exportCheckpoint(path, dir));
  const sequence = await openModel(files.sequence);
  const step = await openModel(files.step as string);
  const rng = new SeededRandom(2);
  const stream = Array.from({ length: SCORE_B * T * 4 + 1 }, () => Math.floor(rng.next() * V));
  const rows: string[] = [];
  const report = (what: string, value: string) => rows.push(`${what.padEnd(58)} ${value}`);

  // Scoring: sequence graph over 4 windows of [T, B] (B independent rows), state carried.
  const scoreWindows = async (count: number) => {
    let state = zeroScoreState(sequence, SCORE_B);
    for (let w = 0; w < count; w++) {
      const at = (k: number) => stream[w * T * SCORE_B + k];
      const n = T * SCORE_B;
      const window = {
        steps: T,
        batch: SCORE_B,
        inputs: Array.from({ length: n }, (_, k) => at(k)),
        targets: Array.from({ length: n }, (_, k) => at(k + 1)),
      };
      state = (await scoreWindow(sequence, window, state)).state;
    }
    return count * T * SCORE_B;
  };
  await scoreWindows(1); // warm-up
  const [scoredTokens, scoreSeconds] = await timed(() => scoreWindows(4));
  report(
    `ORT sequence graph scoring, B=${SCORE_B} T=${T}`,
    `${(scoredTokens / scoreSeconds).toFixed(0)} tokens/s`,
  );

  const single = stream.slice(0, 1024 + 1);
  const [scored1, score1Seconds] = await timed(() =>
    scoreTokens(sequence, single, { chunkLength: 256 }),
  );
  report(
    'ORT sequence graph scoring, B=1 T=256',
    `${(scored1.tokens / score1Seconds).toFixed(0)} tokens/s`,
  );

  // tfjs reference forward of one [T, B] chunk (cells' runLayerReference + output layer + log-softmax).
  const tokens = Array.from({ length: T }, (_, t) => stream.slice(t * SCORE_B, (t + 1) * SCORE_B));
  const targets = Array.from({ length: T }, (_, t) =>
    stream.slice(t * SCORE_B + 1, (t + 1) * SCORE_B + 1),
  );
  const reset = tokens.map((r) => r.map(() => 0));
  const zero = (): RefState => ({
    h: Array.from({ length: L }, () => tf.zeros([SCORE_B, H]) as tf.Tensor2D),
    c: Array.from({ length: L }, () => tf.zeros([SCORE_B, H]) as tf.Tensor2D),
  });
  const [, refSeconds] = await timed(() =>
    tf.tidy(() => referenceSequence(ckpt, tokens, targets, reset, zero()).nll.dataSync()),
  );
  const refTokensPerSecond = (T * SCORE_B) / refSeconds;
  report(
    `tfjs reference forward, B=${SCORE_B} T=${T}`,
    `${refTokensPerSecond.toFixed(0)} tokens/s (ORT scoring ${(scoredTokens / scoreSeconds / refTokensPerSecond).toFixed(1)}x)`,
  );

  // Generation: step graph, top-k 40 sampling.
  const N1 = 100;
  await generate(step, [[1]], { maxTokens: 5 });
  const [, gen1Seconds] = await timed(() =>
    generate(step, [[1]], { maxTokens: N1, topK: 40, seed: 1 }),
  );
  report(
    'ORT step graph generation, B=1 (top-k 40)',
    `${((gen1Seconds * 1000) / N1).toFixed(2)} ms/token`,
  );
  const N32 = 50;
  const [, gen32Seconds] = await timed(() =>
    generate(
      step,
      Array.from({ length: GEN_B }, (_, b) => [b]),
      { maxTokens: N32, topK: 40, seed: 1 },
    ),
  );
  report(
    `ORT step graph generation, B=${GEN_B} (top-k 40)`,
    `${((GEN_B * N32) / gen32Seconds).toFixed(0)} tokens/s`,
  );

  // tfjs reference step at B=1 (layerStep + output layer), greedy feed.
  const N_REF = 20;
  let state: RefState = {
    h: Array.from({ length: L }, () => tf.zeros([1, H]) as tf.Tensor2D),
    c: Array.from({ length: L }, () => tf.zeros([1, H]) as tf.Tensor2D),
  };
  const [, refStepSeconds] = await timed(() => {
    let token = 1;
    for (let k = 0; k < N_REF; k++) {
      const r = referenceStep(ckpt, [token], state);
      token = r.logits.argMax(1).dataSync()[0];
      state = r.state;
    }
  });
  report('tfjs reference step, B=1', `${((refStepSeconds * 1000) / N_REF).toFixed(2)} ms/token`);
  report('export (checkpoint -> step + sequence ONNX)', `${exportSeconds.toFixed(2)} s`);
  console.log(
    `\n@urgate/onnx bench: UR-LSTM, ${L} layers, V=${V}, E=H=${H}, onnxruntime-node CPU; ${machine()}\n${rows.join('\n')}\n`,
  );
  await sequence.close();
  await step.close();
}

await bench();
