// The reference engine's task model: tf.Variables and tfjs ops (cells' tfjs recurrence, dense
// heads, the reference masks), differentiated by tfjs autodiff. The ground truth the native
// NativeTaskModel is tested against; the parameters and their initial values are params.ts'.
import * as tf from '@tensorflow/tfjs';
import {
  gate,
  type LayerParams,
  runLayerReference,
  splitBlocks,
  zeroState,
  zoneoutMasks,
} from '@urgate/cells';
import {
  CLASSIFIER_TENSORS,
  layerLayout,
  layerTensorName,
  type ResolvedLayerConfig,
  TASK_HEAD_TENSORS,
} from '@urgate/contract';
import { dropoutMask } from '../masks.js';
import { REFERENCE_OPS as ops } from '../reference-ops.js';
import { deriveSeed } from '../seeds.js';
import { HEAD_DROPOUT, isPixelTask, type TaskRunConfig, zoneoutRates } from './config.js';
import type { TaskBatch } from './data.js';
import { initTaskTensors, MASK_PURPOSE, taskLayers, taskModelMeta } from './params.js';

/**
 * Stacked gated layers + a task head (LAYOUT.md names). Heads: copy `head.W [d, 10]`,
 * `head.b` (per-step softmax on the last 10 steps); adding `head.W [d, 1]`, `head.b` (regression
 * from the last step); pixel tasks the paper's classifier `head.W1 [d, 256]`, `head.b1`, ReLU,
 * `head.W2 [256, K]`, `head.b2` from the last step.
 */
export interface TaskModel {
  config: TaskRunConfig;
  layers: ResolvedLayerConfig[];
  /** Trainable parameters by checkpoint name, in a fixed order (the optimizer's). */
  params: Record<string, tf.Variable>;
  outputSize: number;
  zoneout: { c: number; h: number } | null;
  /** The checkpoint's `model` section. */
  meta: Record<string, unknown>;
}

export function createTaskModel(
  config: TaskRunConfig,
  inputSize: number,
  outputSize: number,
): TaskModel {
  const layers = taskLayers(config, inputSize);
  const params: Record<string, tf.Variable> = {};
  for (const [name, t] of Object.entries(initTaskTensors(config, layers, outputSize)))
    params[name] = tf.variable(tf.tensor(t.data, t.shape));
  return {
    config,
    layers,
    params,
    outputSize,
    zoneout: zoneoutRates(config.core, config.zoneout),
    meta: taskModelMeta(config, layers, outputSize),
  };
}

/**
 * Training: random masks drawn from (seed, step) — with `rows`, the batch is rows [lo, hi) of a
 * global batch of `total` rows (a data-parallel rank) and takes those rows of the global batch's
 * masks; evaluation: zoneout masks are their expectation.
 */
export type Mode =
  | { training: true; step: number; rows?: { lo: number; hi: number; total: number } }
  | { training: false };

/** The batch's rows (axis `axis`) of a mask drawn for the whole global batch. */
function maskRows(
  mode: Mode,
  axis: number,
  draw: (shape: number[]) => tf.Tensor,
  shape: number[],
): tf.Tensor {
  const rows = mode.training ? mode.rows : undefined;
  if (!rows) return draw(shape);
  const whole = shape.map((n, k) => (k === axis ? rows.total : n));
  const begin = shape.map((_, k) => (k === axis ? rows.lo : 0));
  return tf.tidy(() => tf.slice(draw(whole), begin, shape));
}

function layerParams(model: TaskModel, l: number): LayerParams {
  return {
    W: model.params[layerTensorName(l, 'W')] as unknown as tf.Tensor2D,
    b: model.params[layerTensorName(l, 'b')] as unknown as tf.Tensor1D,
  };
}

/** Outputs h of every layer, [T, B, d] each. */
export function runLayers(model: TaskModel, xs: tf.Tensor3D, mode: Mode): tf.Tensor3D[] {
  const [T, B] = xs.shape;
  const outputs: tf.Tensor3D[] = [];
  let input = xs;
  model.layers.forEach((cfg, l) => {
    const d = cfg.hiddenSize;
    const z = model.zoneout;
    const mask = (rate: number, purpose: number): tf.Tensor3D | undefined => {
      if (z === null || rate === 0) return undefined;
      if (!mode.training) return tf.fill([T, B, d], rate) as tf.Tensor3D;
      const seed = deriveSeed(model.config.seed, mode.step, l, purpose);
      const draw = (shape: number[]) => zoneoutMasks(rate, shape, seed);
      return maskRows(mode, 1, draw, [T, B, d]) as tf.Tensor3D;
    };
    const extras = {
      zoneoutC: cfg.core === 'lstm' && z ? mask(z.c, MASK_PURPOSE.zoneoutC) : undefined,
      zoneoutH: z ? mask(z.h, MASK_PURPOSE.zoneoutH) : undefined,
    };
    input = runLayerReference(cfg, layerParams(model, l), input, zeroState(cfg, B), extras).outputs;
    outputs.push(input);
  });
  return outputs;
}

const p2 = (model: TaskModel, name: string) => model.params[name] as unknown as tf.Tensor2D;

function dense(
  x: tf.Tensor2D,
  model: TaskModel,
  W: string,
  b: string,
  activation: 'linear' | 'relu' = 'linear',
): tf.Tensor2D {
  return ops.dense(x, p2(model, W), model.params[b] as unknown as tf.Tensor1D, activation);
}

/** Steps [start, T) of h. */
function stepsFrom(h: tf.Tensor3D, start: number): tf.Tensor3D {
  const [T, B, d] = h.shape;
  return h.slice([start, 0, 0], [T - start, B, d]);
}

/** Copy head: logits of the last 10 steps, [10·B, 10] in time-major order (row t·B + b). */
export function copyLogits(model: TaskModel, h: tf.Tensor3D, targetStart: number): tf.Tensor2D {
  const tail = stepsFrom(h, targetStart).reshape([-1, h.shape[2]]) as tf.Tensor2D;
  return dense(tail, model, TASK_HEAD_TENSORS.W, TASK_HEAD_TENSORS.b);
}

function lastStep(h: tf.Tensor3D): tf.Tensor2D {
  const [T, B, d] = h.shape;
  return stepsFrom(h, T - 1).reshape([B, d]) as tf.Tensor2D;
}

/** Adding head: prediction from the last step, [B]. */
export function addingPrediction(model: TaskModel, h: tf.Tensor3D): tf.Tensor1D {
  return dense(lastStep(h), model, TASK_HEAD_TENSORS.W, TASK_HEAD_TENSORS.b).reshape([
    -1,
  ]) as tf.Tensor1D;
}

/** Classifier head: ReLU(h_T W1 + b1) (dropout 0.5 in training with zoneout) W2 + b2, [B, K]. */
export function classifierLogits(model: TaskModel, h: tf.Tensor3D, mode: Mode): tf.Tensor2D {
  let hidden = dense(lastStep(h), model, CLASSIFIER_TENSORS.W1, CLASSIFIER_TENSORS.b1, 'relu');
  if (mode.training && model.zoneout !== null) {
    const seed = deriveSeed(model.config.seed, mode.step, MASK_PURPOSE.dropout);
    const draw = (shape: number[]) => dropoutMask(HEAD_DROPOUT, shape, seed);
    hidden = tf.mul(hidden, maskRows(mode, 0, draw, hidden.shape));
  }
  return dense(hidden, model, CLASSIFIER_TENSORS.W2, CLASSIFIER_TENSORS.b2);
}

/** A batch's inputs as a [T, B, n] tensor. */
export function batchInputs(batch: TaskBatch): tf.Tensor3D {
  return tf.tensor3d(batch.inputs, [batch.steps, batch.batchSize, batch.inputSize]);
}

/**
 * Average effective forget gate F per unit of layer 0 over all steps and sequences of a batch
 * (paper Figure 4), recomputed from the layer's inputs and outputs (evaluation mode).
 */
export function meanForgetPerUnit(model: TaskModel, batch: TaskBatch): Float32Array {
  return tf.tidy(() => {
    const xs = batchInputs(batch);
    const h = runLayers(model, xs, { training: false })[0];
    const cfg = model.layers[0];
    const [T, B, d] = h.shape;
    const hPrev = tf.concat([tf.zeros([1, B, d]), h.slice([0, 0, 0], [T - 1, B, d])], 0);
    const rows = tf.concat([xs, hPrev], 2).reshape([T * B, cfg.inputSize + d]) as tf.Tensor2D;
    const { W, b } = layerParams(model, 0);
    const pre = ops.dense(rows, W, b);
    return gate(cfg.mechanism, cfg.core, splitBlocks(pre, layerLayout(cfg)), cfg.downsize)
      .forget.mean(0)
      .dataSync() as Float32Array;
  });
}

/** Loss of one batch (and its predictions), for training and evaluation alike. */
export function taskLoss(
  model: TaskModel,
  batch: TaskBatch,
  mode: Mode,
): { loss: tf.Scalar; correct?: tf.Scalar; count?: number } {
  const outputs = runLayers(model, batchInputs(batch), mode);
  const h = outputs[outputs.length - 1];
  const task = model.config.task;
  if (task === 'copy') {
    const logits = copyLogits(model, h, batch.targetStart as number);
    const targets = tf.tensor1d(batch.targets as Int32Array, 'int32');
    return {
      loss: ops.crossEntropy(logits, targets),
      correct: tf.equal(tf.argMax(logits, 1), targets).sum() as tf.Scalar,
      count: targets.size,
    };
  }
  if (!isPixelTask(task)) {
    const y = addingPrediction(model, h);
    return {
      loss: tf.losses.meanSquaredError(tf.tensor1d(batch.targets as Float32Array), y) as tf.Scalar,
    };
  }
  const logits = classifierLogits(model, h, mode);
  const labels = tf.tensor1d(batch.targets as Int32Array, 'int32');
  return {
    loss: ops.crossEntropy(logits, labels),
    correct: tf.equal(tf.argMax(logits, 1), labels).sum() as tf.Scalar,
    count: labels.size,
  };
}
