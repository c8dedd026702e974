import type * as tf from '@tensorflow/tfjs';

/** Parameters of one layer (LAYOUT.md "Parameters of one layer"). */
export interface LayerParams {
  W: tf.Tensor2D;
  b: tf.Tensor1D;
  /** Fixed, untrained offset added to b; present only with fixedGateOffset. */
  bOffset?: tf.Tensor1D;
}

/** Recurrent state; c exists only for the LSTM. */
export interface State {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

export interface StepExtras {
  /** [B]: 1 zeroes the row's state before the step reads it. */
  reset?: tf.Tensor1D;
  /** [B, d] zoneout keep masks (1 = keep the previous value). */
  zoneoutC?: tf.Tensor2D;
  zoneoutH?: tf.Tensor2D;
}

export interface SequenceExtras {
  /** [T, B] */
  reset?: tf.Tensor2D;
  /** [T, B, d] */
  zoneoutC?: tf.Tensor3D;
  /** [T, B, d] */
  zoneoutH?: tf.Tensor3D;
}

export interface SequenceResult {
  /** [T, B, d]: h after zoneout at every step. */
  outputs: tf.Tensor3D;
  state: State;
}
