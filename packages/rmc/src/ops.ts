import * as tf from '@tensorflow/tfjs';
import { LAYER_NORM_EPSILON } from '@urgate/contract';

/** x · W + b over the last axis of x, any rank. */
export function linear(x: tf.Tensor, W: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  const rows = x.reshape([-1, x.shape[x.shape.length - 1]]) as tf.Tensor2D;
  return rows
    .matMul(W as tf.Tensor2D)
    .add(b)
    .reshape([...lead, W.shape[1] as number]);
}

/** Layer normalisation over the last axis (population variance, as Sonnet's LayerNorm). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(LAYER_NORM_EPSILON)))
    .mul(gamma)
    .add(beta);
}
