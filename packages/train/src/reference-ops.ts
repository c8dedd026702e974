// The reference engine's tfjs ops for the models held as tf.Variables (the task and l2e models
// on `--engine reference`): pure tfjs with autodiff, the ground truth the native model objects
// are tested against. Kept apart from engine.ts, which the tfjs-free native trainers import.
import * as tf from '@tensorflow/tfjs';

export const REFERENCE_OPS = {
  /** act(x W + b). */
  dense(
    x: tf.Tensor2D,
    W: tf.Tensor2D,
    b: tf.Tensor1D,
    activation: 'linear' | 'relu' = 'linear',
  ): tf.Tensor2D {
    const y = tf.add(tf.matMul(x, W), b) as tf.Tensor2D;
    return activation === 'relu' ? tf.relu(y) : y;
  },
  /** Mean over rows of -log softmax(logits)[target]; targets int32. */
  crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
    const labels = tf.oneHot(targets, logits.shape[1]).toFloat();
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  },
};
