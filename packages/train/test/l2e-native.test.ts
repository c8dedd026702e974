// The l2e models on the native engine (fused layers or the native RMC, the dense output layer,
// the native cross-entropy) against the reference engine (pure tfjs with autodiff): loss and
// every parameter's gradient on one batch of generated programs.
import * as tf from '@tensorflow/tfjs';
import { nativeAvailable } from '@urgate/kernels';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { type L2eRunInput, resolveL2eRunConfig } from '../src/l2e/config.js';
import { openL2eData } from '../src/l2e/data.js';
import { createL2eModel, l2eLoss } from '../src/l2e/model.js';

/** Worst |a - ref| / (1e-5 + 1e-4 |ref|): <= 1 passes. */
function worst(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.abs(actual[i] - ref[i]) / (1e-5 + 1e-4 * Math.abs(ref[i]));
    w = Math.max(w, Number.isNaN(r) ? Infinity : r);
  }
  return w;
}

function lossAndGrads(input: L2eRunInput, engine: Engine) {
  const config = resolveL2eRunConfig({ ...input, engine });
  const data = openL2eData(config);
  const batch = data.trainBatch(0);
  const model = createL2eModel(config, data.alphabet.vocabulary.length);
  expect(model.ops.engine).toBe(engine);
  const vars = Object.values(model.params);
  const { value, grads } = tf.variableGrads(() => l2eLoss(model, batch).loss, vars);
  const out = {
    loss: value.dataSync()[0],
    grads: Object.fromEntries(
      Object.entries(model.params).map(([n, v]) => [
        n,
        Float32Array.from(grads[v.name].dataSync()),
      ]),
    ),
  };
  tf.dispose([value, grads, vars]);
  return out;
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
    const ref = lossAndGrads(input, 'reference');
    const native = lossAndGrads(input, 'native');
    expect(worst([native.loss], [ref.loss])).toBeLessThanOrEqual(1);
    expect(Object.keys(native.grads)).toEqual(Object.keys(ref.grads));
    for (const [name, g] of Object.entries(ref.grads)) {
      expect(
        Math.max(...g.map(Math.abs)),
        `${name} gradient is not trivially zero`,
      ).toBeGreaterThan(0);
      expect(worst(native.grads[name], g), name).toBeLessThanOrEqual(1);
    }
  });
});
