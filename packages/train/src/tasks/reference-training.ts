// The reference engine of the task trainer: the tfjs task model (model.ts) differentiated by tfjs
// autodiff, its gradients copied into the arenas (VariableTraining). Loads tfjs.
import * as tf from '@tensorflow/tfjs';
import { VariableTraining } from '../variable-training.js';
import type { TaskRunConfig } from './config.js';
import type { TaskBatch } from './data.js';
import { createTaskModel, meanForgetPerUnit, type TaskModel, taskLoss } from './model.js';
import type { TaskRows, TaskScore, TaskTraining } from './training.js';

export class ReferenceTaskTraining implements TaskTraining {
  readonly engine = 'reference';
  readonly meta: Record<string, unknown>;
  private readonly task: TaskModel;
  private readonly training: VariableTraining;

  constructor(config: TaskRunConfig, inputSize: number, outputSize: number) {
    this.task = createTaskModel(config, inputSize, outputSize);
    this.meta = this.task.meta;
    this.training = new VariableTraining(this.task.params, config);
  }

  get model() {
    return this.training.model;
  }

  gradients(batch: TaskBatch, step: number, rows?: TaskRows): number {
    return this.training.gradients(
      () => taskLoss(this.task, batch, { training: true, step, ...(rows ? { rows } : {}) }).loss,
    );
  }

  score(batch: TaskBatch): TaskScore {
    const [loss, correct, count] = tf.tidy(() => {
      const out = taskLoss(this.task, batch, { training: false });
      return [out.loss.dataSync()[0], out.correct?.dataSync()[0] ?? 0, out.count ?? 0];
    });
    return { loss, correct, count };
  }

  meanForgetPerUnit(batch: TaskBatch): Float32Array {
    return meanForgetPerUnit(this.task, batch);
  }

  dispose(): void {
    tf.dispose(Object.values(this.task.params));
  }
}
