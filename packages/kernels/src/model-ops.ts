// Native ops for the model code around the recurrent layers (the task models' heads): a dense
// layer whose gradients are GEMMs with transpose flags and a native bias reduction, time-step
// slices whose gradient is one copy (tf.slice's is a JavaScript pad over the whole sequence),
// and seeded dropout/zoneout masks drawn natively from the same stream as the references.
import * as tf from '@tensorflow/tfjs';
import { requireNative } from './native.js';
import { floats, rows } from './tensors.js';

/** act(x W + b) for x [M, K], W [K, N], b [N]; differentiable in x, W and b. */
export function denseFused(
  x: tf.Tensor2D,
  W: tf.Tensor2D,
  b: tf.Tensor1D,
  activation: 'linear' | 'relu' = 'linear',
): tf.Tensor2D {
  const addon = requireNative('denseFused');
  const [M, K] = x.shape;
  const N = W.shape[1];
  if (W.shape[0] !== K || b.shape[0] !== N)
    throw new RangeError(`denseFused: shapes [${x.shape}]·[${W.shape}] + [${b.shape}] do not fit`);
  const relu = activation === 'relu';
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, Wt, bt] = args as tf.Tensor[];
    const xv = floats(xt);
    const Wv = floats(Wt);
    const y = addon.denseForward(xv, Wv, floats(bt), M, K, N, relu);
    return {
      value: tf.tensor2d(y, [M, N]),
      gradFunc: (dy: tf.Tensor) => {
        const g = addon.denseBackward(xv, Wv, y, floats(dy), M, K, N, relu);
        return [tf.tensor2d(g.dx, [M, K]), tf.tensor2d(g.dW, [K, N]), tf.tensor1d(g.db)];
      },
    };
  });
  return op(x, W, b) as tf.Tensor2D;
}

/** Steps [start, start + count) of a time-major [T, B, d] tensor; the gradient is one copy. */
export function sliceSteps(x: tf.Tensor3D, start: number, count: number): tf.Tensor3D {
  const T = x.shape[0];
  if (
    !(
      Number.isInteger(start) &&
      Number.isInteger(count) &&
      start >= 0 &&
      count > 0 &&
      start + count <= T
    )
  )
    throw new RangeError(`sliceSteps: steps [${start}, ${start + count}) are outside [0, ${T})`);
  return rows(x, start, count);
}

/** Inverted-dropout multipliers, equal to @urgate/train's dropoutMask(rate, shape, seed). */
export function nativeDropoutMask(rate: number, shape: number[], seed: number): tf.Tensor {
  if (!(rate >= 0 && rate < 1))
    throw new RangeError(`rate: expected a rate in [0, 1), got ${rate}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const keep = Math.fround(1 / (1 - rate));
  return tf.tensor(requireNative('nativeDropoutMask').bernoulliMask(rate, seed, n, 0, keep), shape);
}

/** Zoneout keep masks (1 with probability rate), equal to @urgate/cells' zoneoutMasks. */
export function nativeZoneoutMask(rate: number, shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(requireNative('nativeZoneoutMask').bernoulliMask(rate, seed, n, 1, 0), shape);
}
