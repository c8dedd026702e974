// runLayerFused: one gated layer over a whole sequence as a single tfjs op
// whose forward and backward passes are the native kernels (csrc/rnn.cc).

import * as tf from '@tensorflow/tfjs';
import type { SequenceRunner } from '@urgate/cells';
import { layerLayout, resolveLayerConfig } from '@urgate/contract';
import { type NativeLayerShape, requireNative } from './native.js';
import { trackTape, untrackTape } from './tapes.js';
import { expectShape, floats, rows } from './tensors.js';

/**
 * Same semantics as @urgate/cells' runLayerReference (LAYOUT.md), computed by
 * the native kernels: input projections of all steps in one sgemm, one sgemm
 * per step, the pointwise gate math fused, and BPTT in one call as the op's
 * gradient (for xs, W, b, bOffset, h0 and c0).
 */
export const runLayerFused: SequenceRunner = (cfg, params, xs, state0, extras) => {
  const addon = requireNative('runLayerFused');
  const r = resolveLayerConfig(cfg);
  const { cols } = layerLayout(r);
  if (!(xs instanceof tf.Tensor) || xs.rank !== 3)
    throw new RangeError(`xs: expected a [T, B, ${r.inputSize}] tensor`);
  const [T, B] = xs.shape;
  const n = r.inputSize;
  const d = r.hiddenSize;
  const lstm = r.core === 'lstm';
  expectShape(xs, [T, B, n], 'xs');
  expectShape(params.W, [n + d, cols], 'params.W');
  expectShape(params.b, [cols], 'params.b');
  if (params.bOffset !== undefined) expectShape(params.bOffset, [cols], 'params.bOffset');
  expectShape(state0.h, [B, d], 'state0.h');
  if (lstm) expectShape(state0.c, [B, d], 'state0.c');
  if (extras?.reset !== undefined) expectShape(extras.reset, [T, B], 'extras.reset');
  if (extras?.zoneoutC !== undefined) expectShape(extras.zoneoutC, [T, B, d], 'extras.zoneoutC');
  if (extras?.zoneoutH !== undefined) expectShape(extras.zoneoutH, [T, B, d], 'extras.zoneoutH');

  const spec: NativeLayerShape = {
    core: r.core,
    mechanism: r.mechanism,
    inputSize: n,
    hiddenSize: d,
    downsize: r.downsize,
    batch: B,
    steps: T,
  };
  const reset = extras?.reset === undefined ? null : floats(extras.reset);
  const zoneoutC = lstm && extras?.zoneoutC !== undefined ? floats(extras.zoneoutC) : null;
  const zoneoutH = extras?.zoneoutH === undefined ? null : floats(extras.zoneoutH);
  const block = B * d;

  // customGrad ops have one output tensor: outputs [T, B, d] and, for the
  // LSTM, c_T as a (T+1)-th slice. h_T is outputs[T-1].
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, W, bias, h0, c0] = args as tf.Tensor[];
    const Wv = floats(W);
    const xv = floats(x);
    const f = addon.layerForward(
      spec,
      Wv,
      floats(bias),
      xv,
      floats(h0),
      lstm ? floats(c0) : null,
      reset,
      zoneoutC,
      zoneoutH,
    );
    const value = tf.tensor3d(f.packed, [lstm ? T + 1 : T, B, d]);
    trackTape(f.tape, (t) => addon.releaseTape(t));
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const dv = floats(dy);
      untrackTape(f.tape);
      const g = addon.layerBackward(
        f.tape,
        Wv,
        xv,
        dv.subarray(0, T * block),
        null,
        lstm ? dv.subarray(T * block) : null,
      );
      const grads = [
        tf.tensor3d(g.dxs, [T, B, n]),
        tf.tensor2d(g.dW, [n + d, cols]),
        tf.tensor1d(g.db),
        tf.tensor2d(g.dh0, [B, d]),
      ];
      if (g.dc0 !== undefined) grads.push(tf.tensor2d(g.dc0, [B, d]));
      return grads;
    };
    return { value, gradFunc };
  });

  return tf.tidy(() => {
    const bias = params.bOffset === undefined ? params.b : params.b.add(params.bOffset);
    const inputs: tf.Tensor[] = [xs, params.W, bias, state0.h];
    if (lstm) inputs.push(state0.c as tf.Tensor2D);
    const packed = op(...inputs) as tf.Tensor3D;
    const outputs = lstm ? rows(packed, 0, T) : packed;
    const h = rows(packed, T - 1, 1).reshape([B, d]) as tf.Tensor2D;
    if (!lstm) return { outputs, state: { h } };
    const c = rows(packed, T, 1).reshape([B, d]) as tf.Tensor2D;
    return { outputs, state: { h, c } };
  });
};
