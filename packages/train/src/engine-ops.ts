// The tfjs ops of each engine for the models held as tf.Variables (the task and l2e models): a
// model takes its engine's table once, at creation, and every op of its forward pass comes from
// it, so no op decides for itself which implementation runs. Kept apart from engine.ts, which
// the tfjs-free language-model path imports.
import * as tf from '@tensorflow/tfjs';
import { type SequenceKernel, zoneoutMasks } from '@urgate/cells';
import {
  denseFused,
  nativeDropoutMask,
  nativeZoneoutMask,
  sequenceKernel,
  sliceSteps,
  softmaxCrossEntropy,
} from '@urgate/kernels';
import type { Engine } from './engine.js';
import { dropoutMask } from './masks.js';

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
  /** Steps [start, start + count) of x [T, B, d]. */
  sliceSteps(x: tf.Tensor3D, start: number, count: number): tf.Tensor3D;
  /** 1 where the unit keeps its previous state (probability `rate`), else 0. */
  zoneoutMask(rate: number, shape: number[], seed: number): tf.Tensor;
  /** Inverted-dropout multipliers. Both engines draw the same masks bit for bit. */
  dropoutMask(rate: number, shape: number[], seed: number): tf.Tensor;
  /** Mean over rows of -log softmax(logits)[target]; targets int32. */
  crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar;
}

/** Natively: fused layers, dense ops whose gradients are GEMMs, one-copy slices, native masks. */
const NATIVE: Omit<EngineOps, 'kernel'> = {
  engine: 'native',
  dense: denseFused,
  sliceSteps,
  zoneoutMask: nativeZoneoutMask,
  dropoutMask: nativeDropoutMask,
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
  sliceSteps(x, start, count) {
    const [, B, d] = x.shape;
    return x.slice([start, 0, 0], [count, B, d]);
  },
  zoneoutMask: zoneoutMasks,
  dropoutMask,
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
