import * as tf from '@tensorflow/tfjs';
import type { RmcConfig } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { initialMemory, initRmcParams, rmcGates, rmcStep, runRmc } from '../src/index.js';
import { ENGINES, expectClose } from './helpers.js';

const base: RmcConfig = { inputSize: 3, memSlots: 3, headSize: 2, numHeads: 2, keySize: 3 };

describe.each(ENGINES)('runRmc on the %s engine', (engine) => {
  it('over T steps equals T calls of rmcStep', () => {
    const cfg: RmcConfig = { ...base, numBlocks: 2, mechanism: 'UR-' };
    const params = initRmcParams(cfg, 2);
    const xs = tf.randomNormal([4, 2, 3], 0, 1, 'float32', 9) as tf.Tensor3D;
    const memory0 = initialMemory(cfg, 2);
    const run = runRmc(cfg, params, xs, memory0, engine);
    expect(run.outputs.shape).toEqual([4, 2, 12]);
    let memory = memory0;
    const steps = tf.unstack(xs).map((x) => {
      const s = rmcStep(cfg, params, x as tf.Tensor2D, memory);
      memory = s.memory;
      return s.output;
    });
    expectClose(run.outputs.dataSync(), Array.from(tf.stack(steps).dataSync()), 1e-6, 'outputs');
    expectClose(run.memory.dataSync(), Array.from(memory.dataSync()), 1e-6, 'memory');
  });

  it('outputs are the memories flattened', () => {
    const params = initRmcParams(base, 4);
    const xs = tf.randomNormal([2, 1, 3], 0, 1, 'float32', 3) as tf.Tensor3D;
    const run = runRmc(base, params, xs, initialMemory(base, 1), engine);
    expectClose(
      run.outputs.slice([1, 0, 0], [1, 1, 12]).dataSync(),
      Array.from(run.memory.dataSync()),
      0,
      'last output',
    );
  });
});

describe('gates', () => {
  const x = tf.randomNormal([2, 3], 0, 1, 'float32', 5) as tf.Tensor2D;
  const memory = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6) as tf.Tensor3D;

  it('UR- ties the input gate to the forget gate: I = 1 - F', () => {
    const cfg: RmcConfig = { ...base, mechanism: 'UR-' };
    const { forget, input } = rmcGates(cfg, initRmcParams(cfg, 1), x, memory);
    const F = forget.dataSync();
    const I = input.dataSync();
    expect(F.length).toBe(2 * 3 * 4);
    for (let k = 0; k < F.length; k++) expect(I[k]).toBeCloseTo(1 - F[k], 6);
  });

  it("'-' gates are independent: I + F is not identically 1", () => {
    const cfg: RmcConfig = { ...base, mechanism: '-' };
    const { forget, input } = rmcGates(cfg, initRmcParams(cfg, 1), x, memory);
    const sums = forget.add(input).dataSync();
    expect(Array.from(sums).some((s) => Math.abs(s - 1) > 0.05)).toBe(true);
  });

  for (const gateStyle of ['unit', 'memory'] as const)
    it(`gateStyle '${gateStyle}': M_new = I ∘ tanh(M̃) + F ∘ M_prev, M̃ being the ungated step`, () => {
      const cfg: RmcConfig = { ...base, gateStyle };
      const params = initRmcParams(cfg, 1);
      const { forget, input } = rmcGates(cfg, params, x, memory);
      expect(forget.shape).toEqual([2, 3, gateStyle === 'unit' ? 4 : 1]);
      expect(params['gate.memory.W'].shape).toEqual([4, gateStyle === 'unit' ? 8 : 2]);
      const ungatedCfg: RmcConfig = { ...base, gateStyle: 'none' };
      const ungatedParams = Object.fromEntries(
        Object.entries(params).filter(([name]) => !name.startsWith('gate.')),
      );
      const attended = rmcStep(ungatedCfg, ungatedParams, x, memory).memory;
      const expected = input.mul(tf.tanh(attended)).add(forget.mul(memory));
      expectClose(
        rmcStep(cfg, params, x, memory).memory.dataSync(),
        Array.from(expected.dataSync()),
        1e-6,
        'memory',
      );
    });

  it("gateStyle 'none' has no gate parameters and no gates", () => {
    const cfg: RmcConfig = { ...base, gateStyle: 'none' };
    const params = initRmcParams(cfg, 1);
    expect(Object.keys(params).some((n) => n.startsWith('gate.'))).toBe(false);
    expect(() => rmcGates(cfg, params, x, memory)).toThrow(/gateStyle: 'none' has no gates/);
    expect(rmcStep(cfg, params, x, memory).memory.shape).toEqual([2, 3, 4]);
  });
});
