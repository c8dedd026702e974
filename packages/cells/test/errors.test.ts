import * as tf from '@tensorflow/tfjs';
import {
  type Core,
  layerLayout,
  type Mechanism,
  parseCore,
  parseMechanism,
  resolveLayerConfig,
} from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import {
  gate,
  initLayerParams,
  layerStep,
  runLayerReference,
  zeroState,
  zoneoutMasks,
} from '../src/index.js';

const base = { core: 'lstm' as Core, mechanism: 'UR-' as Mechanism, inputSize: 3, hiddenSize: 8 };

describe('parsing names', () => {
  it('accepts the spellings users type', () => {
    expect(parseMechanism('UR-')).toBe('UR-');
    expect(parseMechanism('ur')).toBe('UR-');
    expect(parseMechanism('UR-LSTM')).toBe('UR-');
    expect(parseMechanism('-')).toBe('-');
    expect(parseMechanism('standard')).toBe('-');
    expect(parseCore('GRU')).toBe('gru');
  });
  it('rejects unknown names listing the allowed values', () => {
    expect(() => parseMechanism('X-')).toThrow(
      /mechanism: unknown gate mechanism "X-"; expected one of '-', 'C-', 'O-', 'OM-', 'U-', 'R-', 'UR-', 'UM-', 'OR-'/,
    );
    expect(() => parseCore('rnn')).toThrow(
      /core: unknown core "rnn"; expected one of 'lstm', 'gru'/,
    );
  });
});

describe('bad configs fail before any tensor work', () => {
  const cases: [string, object, RegExp][] = [
    ['unknown mechanism', { mechanism: 'Q-' }, /^mechanism: .*expected one of '-', 'C-'/],
    ['unknown core', { core: 'rmc' }, /^core: .*expected one of 'lstm', 'gru'/],
    ['zero hidden size', { hiddenSize: 0 }, /^hiddenSize: expected a positive integer, got 0/],
    ['negative input size', { inputSize: -2 }, /^inputSize: expected a positive integer, got -2/],
    ['fractional hidden size', { hiddenSize: 2.5 }, /^hiddenSize: expected a positive integer/],
    [
      'downsize not dividing',
      { mechanism: 'OM-', hiddenSize: 24, downsize: 16 },
      /^downsize: 16 does not divide hiddenSize 24/,
    ],
    [
      'chrono horizon too short',
      { mechanism: 'C-', tMax: 2 },
      /^tMax: chrono initialisation \('C-'\) needs tMax >= 3, got 2/,
    ],
    [
      'non-boolean fixedGateOffset',
      { fixedGateOffset: 'yes' },
      /^fixedGateOffset: expected true or false/,
    ],
  ];
  for (const [what, patch, pattern] of cases) {
    it(what, () => {
      const cfg = { ...base, ...patch } as typeof base;
      const before = tf.memory().numTensors;
      expect(() => resolveLayerConfig(cfg)).toThrow(pattern);
      expect(() => layerLayout(cfg)).toThrow(pattern);
      expect(() => initLayerParams(cfg, 1)).toThrow(pattern);
      expect(() => zeroState(cfg, 2)).toThrow(pattern);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  it('downsize only matters for master mechanisms', () => {
    expect(resolveLayerConfig({ ...base, hiddenSize: 24 }).downsize).toBe(16);
  });
  it('UGI needs at least two units', () => {
    expect(() => initLayerParams({ ...base, hiddenSize: 1 }, 1)).toThrow(
      /^hiddenSize: uniform gate initialisation \('UR-'\) needs hiddenSize >= 2/,
    );
    expect(() => initLayerParams({ ...base, mechanism: 'UM-', hiddenSize: 16 }, 1)).toThrow(
      /^downsize: 'UM-'/,
    );
  });
  it('seeds, batch sizes and zoneout rates', () => {
    expect(() => initLayerParams(base, 1.5)).toThrow(/^seed: expected an integer/);
    expect(() => zeroState(base, 0)).toThrow(/^batch: expected a positive integer/);
    expect(() => zoneoutMasks(1.5, [2], 1)).toThrow(
      /^rate: expected a zoneout probability in \[0, 1\]/,
    );
    expect(() => zoneoutMasks(0.5, [2, 0], 1)).toThrow(
      /^shape: expected an array of positive integers/,
    );
  });
});

describe('mismatched shapes name the argument and the expected shape', () => {
  const params = initLayerParams(base, 1);
  const state = zeroState(base, 2);
  const x = tf.zeros([2, 3]) as tf.Tensor2D;
  it('step inputs', () => {
    expect(() => layerStep(base, params, tf.zeros([2, 4]) as tf.Tensor2D, state)).toThrow(
      /^x: expected shape \[\?, 3\] \(batch × inputSize\), got \[2, 4\]/,
    );
    expect(() => layerStep(base, params, x, { h: state.h })).toThrow(
      /^state.c: expected a tensor of shape \[2, 8\]/,
    );
    expect(() => layerStep(base, params, x, zeroState(base, 3))).toThrow(
      /^state.h: expected shape \[2, 8\]/,
    );
    expect(() => layerStep({ ...base, hiddenSize: 6 }, params, x, state)).toThrow(
      /^params.W: expected shape \[9, 24\]/,
    );
    expect(() =>
      layerStep(base, { W: params.W, b: tf.zeros([5]) as tf.Tensor1D }, x, state),
    ).toThrow(/^params.b: expected shape \[32\]/);
    expect(() =>
      layerStep(base, params, x, state, { reset: tf.zeros([3]) as tf.Tensor1D }),
    ).toThrow(/^extras.reset: expected shape \[2\]/);
    const gru = { ...base, core: 'gru' as Core };
    expect(() => layerStep(gru, initLayerParams(gru, 1), x, state)).toThrow(
      /^state.c: the GRU has no cell state/,
    );
  });
  it('sequence inputs', () => {
    const xs = tf.zeros([4, 2, 3]) as tf.Tensor3D;
    expect(() =>
      runLayerReference(base, params, tf.zeros([4, 2]) as unknown as tf.Tensor3D, state),
    ).toThrow(/^xs: expected shape \[\?, \?, 3\]/);
    expect(() =>
      runLayerReference(base, params, tf.zeros([0, 2, 3]) as tf.Tensor3D, state),
    ).toThrow(/^xs: expected at least one time step/);
    expect(() =>
      runLayerReference(base, params, xs, state, { zoneoutH: tf.zeros([4, 2, 7]) as tf.Tensor3D }),
    ).toThrow(/^extras.zoneoutH: expected shape \[4, 2, 8\]/);
    expect(() =>
      runLayerReference(base, params, xs, state, { reset: tf.zeros([2, 4]) as tf.Tensor2D }),
    ).toThrow(/^extras.reset: expected shape \[4, 2\]/);
  });
  it('gate pre-activations', () => {
    expect(() => gate('UR-', 'lstm', { f: x }, 1)).toThrow(
      /^pre.r: mechanism 'UR-' on the lstm needs pre-activation block 'r'/,
    );
    expect(() => gate('Z-' as Mechanism, 'lstm', {}, 1)).toThrow(
      /^mechanism: unknown gate mechanism "Z-"/,
    );
  });
});
