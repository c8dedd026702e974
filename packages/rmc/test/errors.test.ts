import * as tf from '@tensorflow/tfjs';
import { type RmcConfig, resolveRmcConfig } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { initialMemory, initRmcParams, rmcStep, runRmc } from '../src/index.js';

const base: RmcConfig = { inputSize: 3, memSlots: 2, headSize: 2, numHeads: 2 };
const bad = (cfg: unknown) => () => resolveRmcConfig(cfg as RmcConfig);

describe('config errors name the field', () => {
  it('unknown and unsupported mechanisms', () => {
    expect(bad({ ...base, mechanism: 'XR-' })).toThrow(
      /^mechanism: unknown gate mechanism "XR-"; expected one of '-', 'C-', 'OM-', 'U-', 'UR-'$/,
    );
    for (const m of ['O-', 'R-', 'UM-', 'OR-'])
      expect(bad({ ...base, mechanism: m })).toThrow(
        new RegExp(`^mechanism: '${m}' is not supported on the RMC`),
      );
  });

  it('non-positive and non-integer sizes', () => {
    for (const field of [
      'inputSize',
      'memSlots',
      'headSize',
      'numHeads',
      'numBlocks',
      'keySize',
      'attentionMlpLayers',
      'downsize',
    ])
      for (const value of [0, -1, 1.5, '2'])
        expect(bad({ ...base, [field]: value })).toThrow(
          new RegExp(`^${field}: expected a positive integer, got`),
        );
    expect(bad({ ...base, memSlots: undefined })).toThrow(/^memSlots: expected a positive integer/);
  });

  it('gate style and mechanism combinations', () => {
    expect(bad({ ...base, gateStyle: 'slot' })).toThrow(/^gateStyle: unknown gate style "slot"/);
    expect(bad({ ...base, gateStyle: 'none', mechanism: 'UR-' })).toThrow(
      /^mechanism: gateStyle 'none' has no gates/,
    );
    expect(bad({ ...base, gateStyle: 'memory', mechanism: 'U-' })).toThrow(
      /^gateStyle: uniform gate initialisation \('U-'\)/,
    );
    expect(bad({ ...base, gateStyle: 'memory', mechanism: 'OM-' })).toThrow(
      /^gateStyle: 'OM-' orders its master gates/,
    );
    expect(bad({ ...base, mechanism: 'OM-', downsize: 3 })).toThrow(
      /^downsize: 3 does not divide memSize 4/,
    );
    expect(bad({ ...base, mechanism: 'OM-' })).toThrow(/^downsize: 16 does not divide memSize 4/);
    expect(bad({ ...base, mechanism: 'C-', tMax: 2 })).toThrow(/^tMax: chrono initialisation/);
    expect(bad({ ...base, mechanism: 'UR-', forgetBias: 2 })).toThrow(
      /^forgetBias: mechanism 'UR-' initialises the gate biases itself/,
    );
    expect(bad({ ...base, inputBias: Number.NaN })).toThrow(/^inputBias: expected a finite number/);
    expect(bad(null)).toThrow(/^rmc config: expected an object/);
  });

  it('valid configs resolve with the documented defaults', () => {
    const r = resolveRmcConfig(base);
    expect(r).toMatchObject({
      numBlocks: 1,
      keySize: 2,
      attentionMlpLayers: 2,
      gateStyle: 'unit',
      mechanism: '-',
      forgetBias: 1,
      inputBias: 0,
      downsize: 16,
      tMax: 4,
      memSize: 4,
      gateSize: 4,
    });
  });
});

describe('input errors are thrown before any tensor work', () => {
  const params = initRmcParams(base, 1);
  const x = tf.zeros([2, 3]) as tf.Tensor2D;
  const memory = initialMemory(base, 2);

  const expectNoNewTensors = (fn: () => unknown, message: RegExp) => {
    const before = tf.memory().numTensors;
    expect(fn).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  };

  it('x, memory and xs shapes', () => {
    const wideX = tf.zeros([2, 4]) as tf.Tensor2D;
    const memory3 = initialMemory(base, 3);
    const noSteps = tf.zeros([0, 2, 3]) as tf.Tensor3D;
    const batch3 = tf.zeros([1, 3, 3]) as tf.Tensor3D;
    expectNoNewTensors(
      () => rmcStep(base, params, wideX, memory),
      /^x: expected shape \[\?, 3\] \(batch × inputSize\), got \[2, 4\]$/,
    );
    expectNoNewTensors(
      () => rmcStep(base, params, x, memory3),
      /^memory: expected shape \[2, 2, 4\]/,
    );
    expectNoNewTensors(
      () => rmcStep(base, params, x, undefined as unknown as tf.Tensor3D),
      /^memory: expected a tensor of shape \[2, 2, 4\].*got nothing$/,
    );
    expectNoNewTensors(
      () => runRmc(base, params, x as unknown as tf.Tensor3D, memory, 'reference'),
      /^xs: expected shape \[\?, \?, 3\]/,
    );
    expectNoNewTensors(
      () => runRmc(base, params, noSteps, memory, 'reference'),
      /^xs: expected at least one time step, got 0$/,
    );
    expectNoNewTensors(
      () => runRmc(base, params, batch3, memory, 'reference'),
      /^memory0: expected shape \[3, 2, 4\]/,
    );
    expectNoNewTensors(
      () => runRmc(base, params, batch3, memory, 'gpu' as 'native'),
      /^engine: expected 'native' or 'reference', got "gpu"$/,
    );
    expect(() => initialMemory(base, 0)).toThrow(/^batch: expected a positive integer, got 0$/);
  });

  it('missing, misshapen and foreign parameters', () => {
    const { 'mlp.1.W': _dropped, ...missing } = params;
    const shortOffset = { ...params, 'gate.offset': tf.zeros([4]) };
    expectNoNewTensors(
      () => rmcStep(base, missing, x, memory),
      /^params\['mlp\.1\.W'\]: expected a tensor of shape \[4, 4\]/,
    );
    expectNoNewTensors(
      () => rmcStep(base, shortOffset, x, memory),
      /^params\['gate\.offset'\]: expected shape \[8\]/,
    );
    expectNoNewTensors(
      () => rmcStep({ ...base, gateStyle: 'none' }, params, x, memory),
      /^params\['gate\.memory\.W'\]: not a parameter of this config/,
    );
  });
});
