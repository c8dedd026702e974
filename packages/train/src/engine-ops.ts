// The tfjs ops of each engine for the models held as tf.Variables (the l2e models; the task
// models' reference engine): a model takes its engine's table once, at creation, and every op of
// its forward pass comes from it, so no op decides for itself which implementation runs. Kept
// apart from engine.ts, which the tfjs-free native trainers import.
import * as tf from '@tensorflow/tfjs';
import type { SequenceKernel } from '@urgate/cells';
import { denseFused, sequenceKernel, softmaxCrossEntropy } from '@urgate/kernels';
import type { Engine } from './engine.js';

export interface EngineOps {
  engine: Engine;
  /** The recurrent layers' kernel for cells' runLayerWith / runStack (null: the reference). */
  kernel: SequenceKernel | null;
  /** act(x W + b). */
  dense(
    x: tf.Tensor2D,
    W: tf.Tensor2D,
    b: tf.Tensor1D,
    activation?: 'linear' | 'relu',
  ): tf.Tensor2D;
  /** Mean over rows of -log softmax(logits)[target]; targets int32. */
  crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar;
}

/** Natively: fused layers, dense ops whose gradients are GEMMs, the one-pass cross-entropy. */
const NATIVE: Omit<EngineOps, 'kernel'> = {
  engine: 'native',
  dense: denseFused,
  crossEntropy: softmaxCrossEntropy,
};

/** The pure-tfjs ops with autodiff: the ground truth the native ops are tested against. */
const REFERENCE: EngineOps = {
  engine: 'reference',
  kernel: null,
  dense(x, W, b, activation = 'linear') {
    const y = tf.add(tf.matMul(x, W), b) as tf.Tensor2D;
    return activation === 'relu' ? tf.relu(y) : y;
  },
  crossEntropy(logits, targets) {
    const labels = tf.oneHot(targets, logits.shape[1]).toFloat();
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  },
};

/** The ops of `engine`; native throws (naming the build step) where the addon is not built. */
export function engineOps(engine: Engine): EngineOps {
  if (engine === 'reference') return REFERENCE;
  return { ...NATIVE, kernel: sequenceKernel('native') };
}
