import type * as tf from '@tensorflow/tfjs';

/** Parameters by checkpoint name (README "Parameters"). */
export type RmcParams = Record<string, tf.Tensor>;

// Results are type aliases rather than interfaces so that tf.tidy can return them.

export type RmcStepResult = {
  /** The new memory flattened, [B, memSlots · memSize]. */
  output: tf.Tensor2D;
  /** [B, memSlots, memSize]. */
  memory: tf.Tensor3D;
};

export type RmcSequenceResult = {
  /** [T, B, memSlots · memSize]. */
  outputs: tf.Tensor3D;
  /** The memory after the last step, [B, memSlots, memSize]. */
  memory: tf.Tensor3D;
};

export type RmcGates = {
  /** Effective forget gate F, [B, memSlots, gateSize] (gateSize 1 broadcasts over a slot). */
  forget: tf.Tensor3D;
  /** Effective input gate I, same shape. */
  input: tf.Tensor3D;
};
