// An l2e model as the trainer sees it, on either engine: its arenas for the training loop, its
// untrained constants, the loss and gradients of a training batch, and the loss and target-row
// logits of a held-out batch. The native engine is @urgate/kernels' NativeL2eModel (no tfjs is
// loaded); the reference engine (reference-training.ts, tfjs autodiff over the tfjs model) is
// imported only when a run asks for it.
import type { CheckpointTensors } from '@urgate/contract';
import type { ModelArenas } from '@urgate/kernels/native';
import type { Engine } from '../engine.js';
import type { L2eRunConfig } from './config.js';
import type { L2eBatch } from './data.js';

export interface L2eTraining {
  readonly engine: Engine;
  /** Parameters, gradients and Adam moments in the optimizer's order (checkpoint names). */
  readonly model: ModelArenas;
  /** The untrained tensors the checkpoint keeps beside the parameters (the RMC's gate offsets). */
  readonly constants: CheckpointTensors;
  /** Loss of a training batch; its gradients fill model.grads. */
  gradients(batch: L2eBatch): number;
  /** Mean loss and the logits [N, V] of the batch's target characters (targetRows' order). */
  evaluate(batch: L2eBatch): { loss: number; logits: Float32Array };
  dispose(): void;
}

export async function createL2eTraining(
  config: L2eRunConfig,
  vocabSize: number,
): Promise<L2eTraining> {
  if (config.engine === 'native') {
    const { NativeL2eTraining } = await import('./native-training.js');
    return new NativeL2eTraining(config, vocabSize);
  }
  const { ReferenceL2eTraining } = await import('./reference-training.js');
  return new ReferenceL2eTraining(config, vocabSize);
}
