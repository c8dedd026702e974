// The l2e models on the native engine (fused layers or the native RMC, the dense output layer,
// the native cross-entropy) against the reference engine (pure tfjs with autodiff): loss and
// every parameter's gradient on one batch of generated programs.
import { nativeAvailable } from '@urgate/kernels';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { type L2eRunInput, resolveL2eRunConfig } from '../src/l2e/config.js';
import { openL2eData } from '../src/l2e/data.js';
import { createL2eModel, l2eLoss } from '../src/l2e/model.js';
import { expectEnginesAgree, lossAndGrads } from './engine-parity.js';

function l2eLossAndGrads(input: L2eRunInput, engine: Engine) {
  const config = resolveL2eRunConfig({ ...input, engine });
  const data = openL2eData(config);
  const batch = data.trainBatch(0);
  const model = createL2eModel(config, data.alphabet.vocabulary.length);
  expect(model.ops.engine).toBe(engine);
  return lossAndGrads(model.params, () => l2eLoss(model, batch).loss);
}

const tiny: L2eRunInput = { length: 2, nesting: 2, batchSize: 3, seed: 5 };
const cases: [string, L2eRunInput][] = [
  ['UR-LSTM x2', { ...tiny, hiddenSize: 6, numLayers: 2 }],
  [
    'GRU, zaremba grammar',
    { ...tiny, grammar: 'zaremba', core: 'gru', mechanism: '-', hiddenSize: 5 },
  ],
  ['UR-RMC', { ...tiny, core: 'rmc', memSlots: 2, headSize: 3, numHeads: 2 }],
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

describe.skipIf(!nativeAvailable)('l2e models: native engine vs the reference engine', () => {
  it.each(cases)('%s: loss and every gradient agree', (_, input) => {
    expectEnginesAgree(l2eLossAndGrads(input, 'native'), l2eLossAndGrads(input, 'reference'));
  });
});
