// The whole-model native LM step (@urgate/kernels lmLossFused / lmScoreFused) against the tfjs
// reference path (lmForward on the pure-tfjs cells + log-softmax cross-entropy): loss, every
// parameter's gradient and the carried state, with dropout, layer norm, tied and untied output,
// GRU and LSTM, several layers and article resets.
import * as tf from '@tensorflow/tfjs';
import {
  nativeAvailable,
  nativeDropoutMask,
  useNativeKernels,
  useReferenceKernels,
} from '@urgate/kernels';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkLmFits,
  createLmModel,
  type LmArchitecture,
  type LmMode,
  type LmState,
  type LmTargetWindow,
  lmLoss,
  lmScore,
  zeroLmState,
} from '../src/lm/model.js';
import { deriveSeed, dropoutMask } from '../src/seeds.js';

const RTOL = 1e-4;
const ATOL = 1e-5;

/** Worst |a - ref| / (ATOL + RTOL |ref|): <= 1 passes. */
function worst(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(actual.length).toBe(ref.length);
  let w = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.abs(actual[i] - ref[i]) / (ATOL + RTOL * Math.abs(ref[i]));
    w = Math.max(w, Number.isNaN(r) ? Infinity : r);
  }
  return w;
}

/** Park–Miller stream for reproducible token ids and states. */
function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

function window(V: number, T: number, B: number, seed: number): LmTargetWindow {
  const next = lcg(seed);
  const ids = () => Int32Array.from({ length: T * B }, () => Math.floor(next() * V));
  const resets = new Uint8Array(T * B);
  resets[2 * B + 1] = 1; // row 1 starts an article at step 2
  return { steps: T, batch: B, inputs: ids(), targets: ids(), resets };
}

function warmState(arch: LmArchitecture, B: number, seed: number): LmState {
  const next = lcg(seed);
  const random = () =>
    tf.tensor2d(
      Float32Array.from({ length: B * arch.hiddenSize }, () => next() - 0.5),
      [B, arch.hiddenSize],
    );
  return Array.from({ length: arch.numLayers }, () =>
    arch.core === 'lstm' ? { h: random(), c: random() } : { h: random() },
  );
}

interface Outcome {
  loss: number;
  grads: Record<string, Float32Array>;
  state: Float32Array[];
}

function run(arch: LmArchitecture, mode: LmMode, path: 'auto' | 'reference'): Outcome {
  const model = createLmModel(arch, 7);
  const T = 5;
  const B = 3;
  const w = window(arch.vocabSize, T, B, 11);
  const state = warmState(arch, B, 13);
  const vars = Object.values(model.params);
  let next: LmState = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = lmLoss(model, w, state, mode, path);
    next = out.state.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) }));
    return out.loss;
  }, vars);
  const names = Object.keys(model.params);
  const outcome: Outcome = {
    loss: value.dataSync()[0],
    grads: Object.fromEntries(
      names.map((n) => [n, Float32Array.from(grads[model.params[n].name].dataSync())]),
    ),
    state: next.flatMap((s) =>
      [s.h, ...(s.c ? [s.c] : [])].map((t) => Float32Array.from(t.dataSync())),
    ),
  };
  tf.dispose([value, grads, vars, state.flatMap((s) => [s.h, ...(s.c ? [s.c] : [])])]);
  return outcome;
}

const base: LmArchitecture = {
  core: 'lstm',
  mechanism: 'UR-',
  numLayers: 1,
  vocabSize: 29,
  embeddingSize: 6,
  hiddenSize: 6,
  layerNorm: false,
  tiedEmbeddings: true,
};
const training: LmMode = { training: true, dropout: 0.25, seed: 3, step: 9 };

const cases: [string, LmArchitecture, LmMode][] = [
  ['tied UR-LSTM with dropout', base, training],
  [
    'untied 2-layer UR-LSTM, layer norm, dropout',
    { ...base, numLayers: 2, layerNorm: true, tiedEmbeddings: false, embeddingSize: 4 },
    training,
  ],
  [
    'tied 2-layer LSTM with layer norm, no dropout',
    { ...base, mechanism: '-', numLayers: 2, layerNorm: true },
    { training: false },
  ],
  [
    'untied UR-GRU with dropout',
    { ...base, core: 'gru', tiedEmbeddings: false, embeddingSize: 5 },
    training,
  ],
  [
    'tied OM-LSTM (master gates) with layer norm',
    { ...base, mechanism: 'OM-', hiddenSize: 16, embeddingSize: 16, layerNorm: true },
    training,
  ],
  [
    'adaptive softmax, tied shortlist, dropout',
    { ...base, adaptiveSoftmax: { cutoffs: [8, 20], tailDiv: 2 } },
    training,
  ],
  [
    'adaptive softmax (one cluster), untied, 2 layers, layer norm',
    {
      ...base,
      numLayers: 2,
      layerNorm: true,
      tiedEmbeddings: false,
      embeddingSize: 5,
      adaptiveSoftmax: { cutoffs: [12], tailDiv: 3 },
    },
    training,
  ],
];

describe.skipIf(!nativeAvailable)('native whole-model LM step vs the tfjs reference', () => {
  afterAll(() => useNativeKernels());

  it.each(cases)('%s: loss, every gradient and the next state agree', (_, arch, mode) => {
    useReferenceKernels();
    const ref = run(arch, mode, 'reference');
    useNativeKernels();
    const fused = run(arch, mode, 'auto');
    expect(worst([fused.loss], [ref.loss])).toBeLessThanOrEqual(1);
    for (const [name, g] of Object.entries(ref.grads)) {
      expect(
        Math.max(...g.map(Math.abs)),
        `${name} gradient is not trivially zero`,
      ).toBeGreaterThan(1e-6);
      expect(worst(fused.grads[name], g), name).toBeLessThanOrEqual(1);
    }
    fused.state.forEach((s, k) => {
      expect(worst(s, ref.state[k]), `state ${k}`).toBeLessThanOrEqual(1);
    });
  });

  it('dropout masks drawn natively equal the reference masks bit for bit', () => {
    for (const [rate, seed] of [
      [0.1, deriveSeed(1, 0, 1)],
      [0.5, 2 ** 32 + 17],
      [0.3, -5],
    ]) {
      const ref = dropoutMask(rate, [7, 9, 5], seed).dataSync();
      const native = nativeDropoutMask(rate, [7, 9, 5], seed).dataSync();
      expect(Array.from(native)).toEqual(Array.from(ref));
      expect(ref.filter((v) => v === 0).length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['full softmax', {}],
    ['adaptive softmax', { adaptiveSoftmax: { cutoffs: [5, 15, 27], tailDiv: 1.5 } }],
  ])('scoring (%s): per-token NLL and next state equal the reference forward pass', (_, extra) => {
    const arch = { ...base, numLayers: 2, layerNorm: true, ...extra };
    const model = createLmModel(arch, 5);
    const w = window(arch.vocabSize, 7, 1, 17);
    useReferenceKernels();
    const ref = lmScore(model, w, zeroLmState(model, 1));
    useNativeKernels();
    const fused = lmScore(model, w, zeroLmState(model, 1));
    expect(worst(fused.nll, ref.nll)).toBeLessThanOrEqual(1);
    expect(worst(fused.state[1].h.dataSync(), ref.state[1].h.dataSync())).toBeLessThanOrEqual(1);
  });
});

describe('LM memory check', () => {
  it('refuses a model too large for memory before allocating, naming the setting and the bytes', () => {
    const huge = { ...base, vocabSize: 8705, embeddingSize: 100_000, hiddenSize: 100_000 };
    expect(() => createLmModel(huge, 1)).toThrow(/^hiddenSize: .* needs about [\d.e+]+ bytes/);
    expect(() => checkLmFits(base, { batch: 10 ** 6, steps: 10 ** 4 }, 2 ** 34)).toThrow(
      /^batchSize: batchSize 1000000 x bptt 10000 needs about [\d.e+]+ bytes/,
    );
    expect(() => checkLmFits(base, { batch: 32, steps: 64 }, 2 ** 34)).not.toThrow();
  });
});
