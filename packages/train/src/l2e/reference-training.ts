// The reference engine of the l2e trainer: the tfjs model (model.ts) differentiated by tfjs
// autodiff, its gradients copied into the arenas (VariableTraining). Loads tfjs.
import * as tf from '@tensorflow/tfjs';
import type { CheckpointTensors } from '@urgate/contract';
import { VariableTraining, variableTensors } from '../variable-training.js';
import type { L2eRunConfig } from './config.js';
import type { L2eBatch } from './data.js';
import { createL2eModel, type L2eModel, l2eLoss } from './model.js';
import type { L2eTraining } from './training.js';

export class ReferenceL2eTraining implements L2eTraining {
  readonly engine = 'reference';
  readonly constants: CheckpointTensors;
  private readonly l2e: L2eModel;
  private readonly training: VariableTraining;

  constructor(config: L2eRunConfig, vocabSize: number) {
    this.l2e = createL2eModel(config, vocabSize);
    this.constants = variableTensors(this.l2e.constants);
    this.training = new VariableTraining(this.l2e.params, config);
  }

  get model() {
    return this.training.model;
  }

  gradients(batch: L2eBatch): number {
    return this.training.gradients(() => l2eLoss(this.l2e, batch).loss);
  }

  evaluate(batch: L2eBatch): { loss: number; logits: Float32Array } {
    const [loss, logits] = tf.tidy(() => {
      const out = l2eLoss(this.l2e, batch);
      return [out.loss.dataSync()[0], out.logits.dataSync() as Float32Array] as const;
    });
    return { loss, logits };
  }

  dispose(): void {
    tf.dispose([...Object.values(this.l2e.params), ...Object.values(this.l2e.constants)]);
  }
}
