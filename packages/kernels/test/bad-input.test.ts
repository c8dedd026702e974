// Wrong lengths, wrong dtypes and wrong types reach the addon as a clean
// JavaScript error naming the argument, never as a crash or a stray write.

import * as tf from '@tensorflow/tfjs';
import { initLayerParams, zeroState } from '@urgate/cells';
import { describe, expect, it } from 'vitest';
import { runLayerFused } from '../src/fused-layer.js';
import { type NativeAddon, type NativeLayerShape, native, nativeLoadError } from '../src/native.js';

const spec: NativeLayerShape = {
  core: 'lstm',
  mechanism: 'UR-',
  inputSize: 3,
  hiddenSize: 4,
  downsize: 1,
  batch: 2,
  steps: 5,
};
const f32 = (n: number) => new Float32Array(n);
const cols = 16;

describe.skipIf(native === undefined)(
  `addon argument checks${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    const k = native as NativeAddon;
    const good = () => [f32(7 * cols), f32(cols), f32(5 * 2 * 3), f32(8), f32(8)] as const;

    it('layerForward: wrong lengths are RangeErrors naming the argument', () => {
      const [W, b, xs, h0, c0] = good();
      expect(() =>
        k.layerForward(spec, f32(7 * cols - 1), b, xs, h0, c0, null, null, null),
      ).toThrow(new RangeError('W: expected 112 float32 values, got 111'));
      expect(() => k.layerForward(spec, W, f32(cols + 1), xs, h0, c0, null, null, null)).toThrow(
        RangeError,
      );
      expect(() => k.layerForward(spec, W, b, f32(29), h0, c0, null, null, null)).toThrow(
        /^xs: expected 30/,
      );
      expect(() => k.layerForward(spec, W, b, xs, h0, c0, f32(9), null, null)).toThrow(
        /^reset: expected 10/,
      );
      expect(() => k.layerForward(spec, W, b, xs, h0, c0, null, f32(39), null)).toThrow(
        /^zoneoutC: expected 40/,
      );
      expect(() => k.layerForward(spec, W, b, xs, h0, f32(0), null, null, null)).toThrow(
        /^c0: expected 8/,
      );
    });

    it('layerForward: wrong types are TypeErrors naming the argument', () => {
      const [W, b, xs, h0, c0] = good();
      const w64 = new Float64Array(7 * cols) as unknown as Float32Array;
      expect(() => k.layerForward(spec, w64, b, xs, h0, c0, null, null, null)).toThrow(
        new TypeError('W: expected a Float32Array, got a Float64Array'),
      );
      expect(() =>
        k.layerForward(
          spec,
          W,
          b,
          Array.from(xs) as unknown as Float32Array,
          h0,
          c0,
          null,
          null,
          null,
        ),
      ).toThrow(/^xs: expected a Float32Array, got an Array/);
      expect(() =>
        k.layerForward(spec, W, b, xs, null as unknown as Float32Array, c0, null, null, null),
      ).toThrow(/^h0: expected a Float32Array, got null/);
      expect(() =>
        k.layerForward({ ...spec, mechanism: 'X-' }, W, b, xs, h0, c0, null, null, null),
      ).toThrow(/^spec.mechanism: expected one of/);
      expect(() =>
        k.layerForward({ ...spec, hiddenSize: 4.5 }, W, b, xs, h0, c0, null, null, null),
      ).toThrow(/^spec.hiddenSize/);
      expect(() =>
        k.layerForward({ ...spec, steps: 1e9 }, W, b, xs, h0, c0, null, null, null),
      ).toThrow(/^spec.steps: steps \* batch/);
      expect(() =>
        k.layerForward(
          { ...spec, mechanism: 'OM-', downsize: 3 },
          W,
          b,
          xs,
          h0,
          c0,
          null,
          null,
          null,
        ),
      ).toThrow(/^spec.downsize: must divide/);
    });

    it('layerBackward: checks the tape, the gradient lengths, and refuses a used tape', () => {
      const [W, b, xs, h0, c0] = good();
      const fwd = k.layerForward(spec, W, b, xs, h0, c0, null, null, null);
      expect(() => k.layerBackward({} as never, W, xs, f32(40), null, null)).toThrow(
        /^tape: expected the tape returned by layerForward/,
      );
      expect(() => k.layerBackward(fwd.tape, W, xs, f32(39), null, null)).toThrow(
        /^dOutputs: expected 40/,
      );
      expect(() => k.layerBackward(fwd.tape, W, xs, f32(40), f32(7), null)).toThrow(
        /^dh: expected 8/,
      );
      k.layerBackward(fwd.tape, W, xs, f32(40), null, null);
      expect(() => k.layerBackward(fwd.tape, W, xs, f32(40), null, null)).toThrow(
        /^tape: already used/,
      );
    });

    it('softmaxCrossEntropy, adamStep and matmul check their buffers', () => {
      expect(() => k.softmaxCrossEntropy(f32(5), new Int32Array(2), 3)).toThrow(
        /^logits: expected 6/,
      );
      expect(() =>
        k.softmaxCrossEntropy(f32(6), new Float32Array(2) as unknown as Int32Array, 3),
      ).toThrow(/^targets: expected an Int32Array/);
      expect(() =>
        k.adamStep([f32(4)], [f32(3)], [f32(4)], [f32(4)], { lr: 0.1, step: 1 }),
      ).toThrow(/^grads\[0\]: expected 4/);
      expect(() => k.adamStep([f32(4)], [], [], [], { lr: 0.1, step: 1 })).toThrow(
        /^grads: expected 1 buffers/,
      );
      expect(() =>
        k.adamStep([f32(4)], [f32(4)], [f32(4)], [f32(4)], { lr: 0.1, step: 0 }),
      ).toThrow(/^options.step/);
      expect(() => k.matmul(f32(6), f32(5), 1, 1, 2, 2, 3, false, false)).toThrow(/^b: expected 6/);
      expect(() => k.matmul(f32(12), f32(12), 2, 3, 2, 2, 3, false, false)).toThrow(
        /^batchB: expected equal batches/,
      );
    });

    it('runLayerFused: tensor shapes and dtypes are checked before any native work', () => {
      const cfg = { core: 'lstm', mechanism: 'UR-', inputSize: 3, hiddenSize: 4 } as const;
      const params = initLayerParams(cfg, 1);
      const state = zeroState(cfg, 2);
      expect(() => runLayerFused(cfg, params, tf.zeros([5, 2, 4]) as tf.Tensor3D, state)).toThrow(
        /^xs: expected shape \[5,2,3\], got \[5,2,4\]/,
      );
      expect(() =>
        runLayerFused(cfg, params, tf.zeros([5, 2, 3], 'int32') as tf.Tensor3D, state),
      ).toThrow(/^xs: expected dtype float32, got int32/);
      expect(() =>
        runLayerFused(cfg, params, tf.zeros([5, 2, 3]) as tf.Tensor3D, { h: state.h }),
      ).toThrow(/^state0.c: expected a tf.Tensor/);
      expect(() =>
        runLayerFused(cfg, params, tf.zeros([5, 2, 3]) as tf.Tensor3D, state, {
          reset: tf.zeros([5, 3]) as tf.Tensor2D,
        }),
      ).toThrow(/^extras.reset: expected shape \[5,2\]/);
    });
  },
);
