// The task models' tensors (the copy/adding/pixel benchmarks): stacked gated layers and a head,
// in the one order the optimizer, the checkpoint and the native arena share.
import type { ResolvedLayerConfig } from './config.js';
import { stackTensorShapes } from './layout.js';
import type { TensorShape } from './lm.js';
import { CLASSIFIER_TENSORS, TASK_HEAD_TENSORS } from './names.js';

/** copy: a softmax per target step; regression (adding, forgetting); classifier (pixel tasks). */
export type TaskHead = 'copy' | 'regression' | 'classifier';

export interface TaskArchitecture {
  layers: ResolvedLayerConfig[];
  head: TaskHead;
  /** Classifier only: the width of its hidden ReLU layer. */
  headHidden: number;
  outputSize: number;
}

/**
 * The task model's trainable tensors in their one fixed order: per layer W [in + d, cols],
 * b [cols]; then the head: W [d, K], b [K], or the classifier's W1 [d, H], b1 [H], W2 [H, K],
 * b2 [K].
 */
export function taskTensorShapes(arch: TaskArchitecture): TensorShape[] {
  const table = stackTensorShapes(arch.layers);
  const d = arch.layers[arch.layers.length - 1].hiddenSize;
  if (arch.head === 'classifier') {
    table.push({ name: CLASSIFIER_TENSORS.W1, shape: [d, arch.headHidden] });
    table.push({ name: CLASSIFIER_TENSORS.b1, shape: [arch.headHidden] });
    table.push({ name: CLASSIFIER_TENSORS.W2, shape: [arch.headHidden, arch.outputSize] });
    table.push({ name: CLASSIFIER_TENSORS.b2, shape: [arch.outputSize] });
  } else {
    table.push({ name: TASK_HEAD_TENSORS.W, shape: [d, arch.outputSize] });
    table.push({ name: TASK_HEAD_TENSORS.b, shape: [arch.outputSize] });
  }
  return table;
}
