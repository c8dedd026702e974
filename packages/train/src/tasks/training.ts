// A task model as the trainer sees it, on either engine: its arenas for the training loop, the
// loss and gradients of a training batch, the score of a held-out batch and the forget-gate
// statistics. The native engine is @urgate/kernels' NativeTaskModel (no tfjs is loaded); the
// reference engine (reference-training.ts, tfjs autodiff over cells' tfjs layers) is imported
// only when a run asks for it.
import type { ModelArenas } from '@urgate/kernels/native';
import type { Engine } from '../engine.js';
import type { TaskRunConfig } from './config.js';
import type { TaskBatch } from './data.js';

/** A data-parallel rank's share: rows [lo, hi) of a global batch of `total` rows. */
export interface TaskRows {
  lo: number;
  hi: number;
  total: number;
}

export interface TaskScore {
  loss: number;
  /** Right predictions of `count` (copy: symbols; pixel: images; adding: none, count 0). */
  correct: number;
  count: number;
}

export interface TaskTraining {
  readonly engine: Engine;
  /** Parameters, gradients and Adam moments in the optimizer's order (checkpoint names). */
  readonly model: ModelArenas;
  /** The checkpoint's `model` section. */
  readonly meta: Record<string, unknown>;
  /** Loss of training step `step`'s batch (this rank's rows of it); its gradients fill model.grads. */
  gradients(batch: TaskBatch, step: number, rows?: TaskRows): number;
  /** Loss and right predictions of a held-out batch (zoneout masks at their expectation). */
  score(batch: TaskBatch): TaskScore;
  /** Mean effective forget gate per unit of layer 0 over a batch (paper Figure 4). */
  meanForgetPerUnit(batch: TaskBatch): Float32Array;
  dispose(): void;
}

export async function createTaskTraining(
  config: TaskRunConfig,
  inputSize: number,
  outputSize: number,
): Promise<TaskTraining> {
  if (config.engine === 'native') {
    const { NativeTaskTraining } = await import('./native-training.js');
    return new NativeTaskTraining(config, inputSize, outputSize);
  }
  const { ReferenceTaskTraining } = await import('./reference-training.js');
  return new ReferenceTaskTraining(config, inputSize, outputSize);
}
