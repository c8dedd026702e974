import * as tf from '@tensorflow/tfjs';
import type { Core } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import {
  initLayerParams,
  layerStep,
  runLayerReference,
  runLayerWith,
  type SequenceKernel,
  type State,
  zeroState,
  zoneoutMasks,
} from '../src/index.js';

const close = (a: tf.Tensor, b: tf.Tensor, tol = 1e-6) => {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  x.forEach((v, k) => {
    expect(Math.abs(v - y[k])).toBeLessThanOrEqual(tol);
  });
};

describe('runLayerReference over a sequence', () => {
  for (const core of ['lstm', 'gru'] as Core[]) {
    const cfg = { core, mechanism: 'UR-' as const, inputSize: 3, hiddenSize: 6 };
    const params = initLayerParams(cfg, 4);
    const xs = tf.randomNormal([5, 2, 3], 0, 1, 'float32', 9) as tf.Tensor3D;
    const state0: State = { h: tf.randomNormal([2, 6], 0, 1, 'float32', 1) as tf.Tensor2D };
    if (core === 'lstm') state0.c = tf.randomNormal([2, 6], 0, 1, 'float32', 2) as tf.Tensor2D;

    it(`${core}: equals T calls of layerStep`, () => {
      const seq = runLayerReference(cfg, params, xs, state0);
      let state = state0;
      const outs = tf.unstack(xs).map((x) => {
        state = layerStep(cfg, params, x as tf.Tensor2D, state);
        return state.h;
      });
      close(seq.outputs, tf.stack(outs));
      close(seq.state.h, state.h);
      if (core === 'lstm') close(seq.state.c as tf.Tensor, state.c as tf.Tensor);
    });

    it(`${core}: a reset row continues exactly like a fresh zero state`, () => {
      const reset = tf.tensor2d([
        [0, 0],
        [0, 1],
        [0, 0],
        [0, 0],
        [0, 0],
      ]);
      const seq = runLayerReference(cfg, params, xs, state0, { reset });
      const tail = xs.slice([1, 1, 0], [4, 1, 3]) as tf.Tensor3D;
      const fresh = runLayerReference(cfg, params, tail, zeroState(cfg, 1));
      close(seq.outputs.slice([1, 1, 0], [4, 1, 6]), fresh.outputs);
      // The other row is untouched by the reset.
      close(
        seq.outputs.slice([0, 0, 0], [5, 1, 6]),
        runLayerReference(cfg, params, xs, state0).outputs.slice([0, 0, 0], [5, 1, 6]),
      );
    });

    it(`${core}: zoneout masks of ones keep the state, of zeros equal no zoneout`, () => {
      // The same mask on h and (LSTM) c at every step.
      const withZoneout = (mask: tf.Tensor3D) =>
        runLayerReference(
          cfg,
          params,
          xs,
          state0,
          core === 'lstm' ? { zoneoutH: mask, zoneoutC: mask } : { zoneoutH: mask },
        );
      const keepAll = withZoneout(tf.ones([5, 2, 6]) as tf.Tensor3D);
      close(keepAll.state.h, state0.h);
      if (core === 'lstm') close(keepAll.state.c as tf.Tensor, state0.c as tf.Tensor);
      close(keepAll.outputs, tf.stack(Array(5).fill(state0.h)));
      const none = withZoneout(tf.zeros([5, 2, 6]) as tf.Tensor3D);
      close(none.outputs, runLayerReference(cfg, params, xs, state0).outputs);
    });
  }

  it('runLayerWith runs the given kernel (with the resolved config), and the reference on null', () => {
    const cfg = { core: 'gru' as Core, mechanism: '-' as const, inputSize: 2, hiddenSize: 4 };
    const params = initLayerParams(cfg, 1);
    const xs = tf.ones([2, 1, 2]) as tf.Tensor3D;
    const seen: unknown[] = [];
    const kernel: SequenceKernel = (resolved, p, x, s, e) => {
      seen.push(resolved);
      return runLayerReference(resolved, p, x, s, e);
    };
    runLayerWith(kernel, cfg, params, xs, zeroState(cfg, 1));
    expect(seen).toEqual([{ ...cfg, downsize: 16, tMax: 4, fixedGateOffset: false }]);
    runLayerWith(null, cfg, params, xs, zeroState(cfg, 1));
    expect(seen.length).toBe(1);
  });

  it('runLayerReference leaves no intermediate tensors behind', () => {
    const cfg = {
      core: 'lstm' as Core,
      mechanism: 'OM-' as const,
      inputSize: 2,
      hiddenSize: 4,
      downsize: 2,
    };
    const params = initLayerParams(cfg, 1);
    const xs = tf.ones([3, 1, 2]) as tf.Tensor3D;
    const state0 = zeroState(cfg, 1);
    const before = tf.memory().numTensors;
    runLayerReference(cfg, params, xs, state0);
    expect(tf.memory().numTensors - before).toBe(3); // outputs, h, c
  });
});

describe('zoneoutMasks', () => {
  it('draws 0/1 keep flags with probability rate, reproducibly from the seed', () => {
    const mask = zoneoutMasks(0.3, [50, 40], 17);
    const values = Array.from(mask.dataSync());
    expect(values.every((v) => v === 0 || v === 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    // Binomial(2000, 0.3): σ of the mean ≈ 0.0102; allow 4σ.
    expect(Math.abs(mean - 0.3)).toBeLessThan(0.041);
    expect(zoneoutMasks(0.3, [50, 40], 17).dataSync()).toEqual(mask.dataSync());
    expect(zoneoutMasks(0, [3], 1).dataSync()).toEqual(new Float32Array([0, 0, 0]));
    expect(zoneoutMasks(1, [3], 1).dataSync()).toEqual(new Float32Array([1, 1, 1]));
  });
});
