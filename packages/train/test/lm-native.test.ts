// The native LM object (@urgate/kernels NativeLm: trainStep, score, Adam over its arenas) against
// the tfjs reference engine (lmForward on the pure-tfjs cells + log-softmax cross-entropy, tfjs
// autodiff): loss, every parameter's gradient and the carried state, with dropout, layer norm,
// tied and untied output, GRU and LSTM, several layers and article resets.
import { nativeDropoutMask } from '@urgate/kernels';
import type { LmWindow } from '@urgate/kernels/native';
import { nativeAvailable } from '@urgate/kernels/native';
import { parityRatio } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import {
  checkLmFits,
  createLanguageModel,
  type LanguageModel,
  type LmArchitecture,
  type LmDropout,
  type LmState,
  lmDropout,
} from '../src/lm/model.js';
import { dropoutMask } from '../src/masks.js';
import { deriveSeed } from '../src/seeds.js';

/** Park–Miller stream for reproducible token ids and states. */
function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

function window(V: number, T: number, B: number, seed: number): LmWindow {
  const next = lcg(seed);
  const ids = () => Int32Array.from({ length: T * B }, () => Math.floor(next() * V));
  const resets = new Uint8Array(T * B);
  resets[2 * B + 1] = 1; // row 1 starts an article at step 2
  return { steps: T, batch: B, inputs: ids(), targets: ids(), resets };
}

function warmState(arch: LmArchitecture, B: number, seed: number): LmState {
  const next = lcg(seed);
  const random = () => Float32Array.from({ length: B * arch.hiddenSize }, () => next() - 0.5);
  return Array.from({ length: arch.numLayers }, () =>
    arch.core === 'lstm' ? { h: random(), c: random() } : { h: random() },
  );
}

interface Outcome {
  loss: number;
  grads: Record<string, Float32Array>;
  state: Float32Array[];
}

async function run(
  arch: LmArchitecture,
  dropout: LmDropout | null,
  engine: Engine,
): Promise<Outcome> {
  const model: LanguageModel = await createLanguageModel(arch, 7, engine);
  const T = 5;
  const B = 3;
  const w = window(arch.vocabSize, T, B, 11);
  const out = model.trainStep(w, warmState(arch, B, 13), dropout);
  const grads = Object.fromEntries(
    model.tensors.map((t) => [t.name, model.grads.slice(t.offset, t.offset + t.size)]),
  );
  return { loss: out.loss, grads, state: out.state.flatMap((s) => [s.h, ...(s.c ? [s.c] : [])]) };
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
const training = lmDropout(0.25, 3, 9);

const cases: [string, LmArchitecture, LmDropout | null][] = [
  ['tied UR-LSTM with dropout', base, training],
  [
    'untied 2-layer UR-LSTM, layer norm, dropout',
    { ...base, numLayers: 2, layerNorm: true, tiedEmbeddings: false, embeddingSize: 4 },
    training,
  ],
  [
    'tied 2-layer LSTM with layer norm, no dropout',
    { ...base, mechanism: '-', numLayers: 2, layerNorm: true },
    null,
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

describe.skipIf(!nativeAvailable)('native LM object vs the tfjs reference engine', () => {
  it.each(cases)('%s: loss, every gradient and the next state agree', async (_, arch, dropout) => {
    const ref = await run(arch, dropout, 'reference');
    const fused = await run(arch, dropout, 'native');
    expect(parityRatio([fused.loss], [ref.loss])).toBeLessThanOrEqual(1);
    for (const [name, g] of Object.entries(ref.grads)) {
      expect(
        Math.max(...g.map(Math.abs)),
        `${name} gradient is not trivially zero`,
      ).toBeGreaterThan(1e-6);
      expect(parityRatio(fused.grads[name], g), name).toBeLessThanOrEqual(1);
    }
    fused.state.forEach((s, k) => {
      expect(parityRatio(s, ref.state[k]), `state ${k}`).toBeLessThanOrEqual(1);
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
  ])(
    'scoring (%s): per-token NLL and next state equal the reference forward pass',
    async (_, extra) => {
      const arch = { ...base, numLayers: 2, layerNorm: true, ...extra };
      const native = await createLanguageModel(arch, 5, 'native');
      const reference = await createLanguageModel(arch, 5, 'reference');
      expect(Array.from(native.params)).toEqual(Array.from(reference.params));
      const w = window(arch.vocabSize, 7, 1, 17);
      const ref = reference.score(w, reference.zeroState(1));
      const fused = native.score(w, native.zeroState(1));
      expect(parityRatio(fused.nll, ref.nll)).toBeLessThanOrEqual(1);
      expect(parityRatio(fused.state[1].h, ref.state[1].h)).toBeLessThanOrEqual(1);
    },
  );

  it.each([
    ['2-layer UR-LSTM, full softmax', { numLayers: 2 }],
    ['UR-GRU, layer norm', { core: 'gru', layerNorm: true }],
  ] as [string, Partial<LmArchitecture>][])(
    'scoring a window of several blocks (%s, V = 20000, 34 steps x 8 rows): NLL and state equal the reference',
    async (_, extra) => {
      // The native score runs 256 rows (32 steps) at a time at this vocabulary, carrying only the
      // state between blocks; article starts fall in both blocks.
      const arch: LmArchitecture = { ...base, vocabSize: 20000, ...extra };
      const native = await createLanguageModel(arch, 6, 'native');
      const reference = await createLanguageModel(arch, 6, 'reference');
      const w = window(arch.vocabSize, 34, 8, 23);
      w.resets[33 * 8 + 3] = 1;
      const ref = reference.score(w, warmState(arch, 8, 29));
      const fused = native.score(w, warmState(arch, 8, 29));
      expect(parityRatio(fused.nll, ref.nll)).toBeLessThanOrEqual(1);
      fused.state.forEach((s, l) => {
        expect(parityRatio(s.h, ref.state[l].h), `layer ${l} h`).toBeLessThanOrEqual(1);
        if (s.c)
          expect(
            parityRatio(s.c, ref.state[l].c as Float32Array),
            `layer ${l} c`,
          ).toBeLessThanOrEqual(1);
      });
    },
  );

  it('Adam over the arena: both engines take the same step from the same gradients', async () => {
    const arch = { ...base, tiedEmbeddings: false, embeddingSize: 4, layerNorm: true };
    const native = await createLanguageModel(arch, 2, 'native');
    const reference = await createLanguageModel(arch, 2, 'reference');
    const w = window(arch.vocabSize, 4, 2, 5);
    const before = native.params.slice();
    const last = native.params.length - 1;
    for (const model of [native, reference]) {
      model.trainStep(w, model.zeroState(2), null);
      model.grads.fill(0);
      // gradients of norm 5 (first and last element of the arena), clipped to 1.5: Adam's first
      // step moves each by lr against its sign (m̂ / √v̂ = ±1) and leaves the rest
      model.grads[0] = 3;
      model.grads[last] = -4;
      expect(model.adamUpdate({ lr: 0.01, clipNorm: 1.5 })).toBeCloseTo(5, 12);
      expect(model.adamSteps).toBe(1);
    }
    expect(native.params[0]).toBeCloseTo(before[0] - 0.01, 6);
    expect(native.params[last]).toBeCloseTo(before[last] + 0.01, 6);
    expect(Array.from(native.params.subarray(1, last))).toEqual(
      Array.from(before.subarray(1, last)),
    );
    expect(Array.from(native.params)).toEqual(Array.from(reference.params));
    expect(Array.from(native.v)).toEqual(Array.from(reference.v));
  });
});

describe('LM memory check', () => {
  it('refuses a model too large for memory before allocating, naming the setting and the bytes', async () => {
    const huge = { ...base, vocabSize: 8705, embeddingSize: 100_000, hiddenSize: 100_000 };
    await expect(createLanguageModel(huge, 1)).rejects.toThrow(
      /^hiddenSize: .* needs about [\d.e+]+ bytes/,
    );
    expect(() => checkLmFits(base, { batch: 10 ** 6, steps: 10 ** 4 }, 2 ** 34)).toThrow(
      /^batchSize: batchSize 1000000 x bptt 10000 needs about [\d.e+]+ bytes/,
    );
    expect(() => checkLmFits(base, { batch: 32, steps: 64 }, 2 ** 34)).not.toThrow();
  });
});
