// Mean softmax cross-entropy as one tfjs op: loss and dL/dlogits come from a
// single native pass over the rows; the gradient is that saved dL/dlogits
// scaled by the upstream gradient.
import * as tf from '@tensorflow/tfjs';
import { requireNative } from './native.js';

/** mean over rows of -log softmax(logits)[target]; logits [N, V], targets int32 [N] in [0, V). */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const addon = requireNative('softmaxCrossEntropy');
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2)
    throw new RangeError('logits: expected a [N, V] tensor');
  if (logits.dtype !== 'float32')
    throw new TypeError(`logits: expected dtype float32, got ${logits.dtype}`);
  if (
    !(targets instanceof tf.Tensor) ||
    targets.rank !== 1 ||
    targets.shape[0] !== logits.shape[0]
  ) {
    throw new RangeError(
      `targets: expected a [${logits.shape[0]}] tensor (one class per row of logits)`,
    );
  }
  if (targets.dtype !== 'int32')
    throw new TypeError(`targets: expected dtype int32, got ${targets.dtype}`);
  const V = logits.shape[1];
  const t = targets.dataSync() as Int32Array;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const v = x.dataSync();
    const { loss, dLogits } = addon.softmaxCrossEntropy(
      v instanceof Float32Array ? v : Float32Array.from(v),
      t,
      V,
    );
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor) => {
        // dy is a scalar: scale in a plain loop (tfjs' scalar-broadcast mul on
        // the cpu backend walks [N, V] with index arithmetic per element)
        const scale = dy.dataSync()[0];
        const g = scale === 1 ? dLogits : dLogits.map((v) => v * scale);
        return tf.tensor2d(g, logits.shape);
      },
    };
  });
  return op(logits) as tf.Scalar;
}
