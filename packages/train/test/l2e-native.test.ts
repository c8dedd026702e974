// The l2e model as one native object (@urgate/kernels' NativeL2eModel: fused layers or the native
// RMC, the dense output layer, the native cross-entropy, over one arena) against the reference
// engine (the tfjs model with autodiff): initial tensors, loss and every parameter's gradient on
// one batch of generated programs, and evaluation.
import { arenaView, NativeL2eModel, nativeAvailable } from '@urgate/kernels/native';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { type L2eRunInput, resolveL2eRunConfig } from '../src/l2e/config.js';
import { openL2eData } from '../src/l2e/data.js';
import { l2eArchitecture } from '../src/l2e/params.js';
import { createL2eTraining } from '../src/l2e/training.js';
import { expectEnginesAgree, type LossAndGrads } from './engine-parity.js';

const arenaTensors = (model: Parameters<typeof arenaView>[0], kind: 'params' | 'grads') =>
  Object.fromEntries(model.tensors.map((t) => [t.name, arenaView(model, t.name, kind).slice()]));

async function l2eRun(input: L2eRunInput, engine: Engine) {
  const config = resolveL2eRunConfig({ ...input, engine });
  const data = openL2eData(config);
  const batch = data.trainBatch(0);
  const training = await createL2eTraining(config, data.alphabet.vocabulary.length);
  expect(training.engine).toBe(engine);
  const initial = arenaTensors(training.model, 'params');
  const loss = training.gradients(batch);
  const lossAndGrads: LossAndGrads = { loss, grads: arenaTensors(training.model, 'grads') };
  const held = training.evaluate(data.testBatches()[0]);
  training.dispose();
  return { initial, constants: training.constants, lossAndGrads, held };
}

const tiny: L2eRunInput = { length: 2, nesting: 2, batchSize: 3, seed: 5, evalSize: 1 };
const cases: [string, L2eRunInput][] = [
  ['UR-LSTM x2', { ...tiny, hiddenSize: 6, numLayers: 2 }],
  [
    'GRU, zaremba grammar',
    { ...tiny, grammar: 'zaremba', core: 'gru', mechanism: '-', hiddenSize: 5 },
  ],
  ['UR-RMC', { ...tiny, core: 'rmc', memSlots: 2, headSize: 3, numHeads: 2 }],
  [
    'OM-RMC, 2 heads of 16 (2 master units)',
    { ...tiny, core: 'rmc', mechanism: 'OM-', memSlots: 2, headSize: 16, numHeads: 2 },
  ],
];

describe('l2e settings: the engine', () => {
  it('is native unless given, and a bad one is refused in one line naming the flag', () => {
    expect(resolveL2eRunConfig({}).engine).toBe('native');
    expect(resolveL2eRunConfig({ engine: 'reference' }).engine).toBe('reference');
    expect(() => resolveL2eRunConfig({ engine: 'gpu' })).toThrow(
      /^--engine: expected 'native' or 'reference', got "gpu"$/,
    );
  });
});

describe.skipIf(!nativeAvailable)('l2e models: the native object vs the reference engine', () => {
  it.each(cases)(
    '%s: same initial tensors; loss, every gradient and held-out logits agree',
    async (_, input) => {
      const native = await l2eRun(input, 'native');
      const ref = await l2eRun(input, 'reference');
      expect(native.initial).toEqual(ref.initial);
      expect(native.constants).toEqual(ref.constants);
      expectEnginesAgree(native.lossAndGrads, ref.lossAndGrads);
      expectEnginesAgree(
        { loss: native.held.loss, grads: { logits: native.held.logits } },
        { loss: ref.held.loss, grads: { logits: ref.held.logits } },
      );
    },
  );

  it('the RMC object refuses missing gate offsets, and a batch of another vocabulary', () => {
    const config = resolveL2eRunConfig({ ...tiny, core: 'rmc', memSlots: 2, headSize: 3 });
    const arch = l2eArchitecture(config, 12);
    expect(() => new NativeL2eModel(arch)).toThrow(
      /^constants\.gate\.offset: expected a Float32Array of 12 values$/,
    );
    const model = new NativeL2eModel(arch, { 'gate.offset': new Float32Array(12) });
    const batch = openL2eData(config).trainBatch(0);
    expect(() => model.evaluate(batch)).toThrow(
      new RegExp(`^batch.vocabSize: expected 12 \\(the model's\\), got ${batch.vocabSize}$`),
    );
  });
});
