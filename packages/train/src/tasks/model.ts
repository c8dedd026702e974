import * as tf from '@tensorflow/tfjs';
import {
  gate,
  initLayerParams,
  type LayerParams,
  runLayerWith,
  splitBlocks,
  zeroState,
} from '@urgate/cells';
import {
  CLASSIFIER_TENSORS,
  layerLayout,
  layerTensorName,
  type ResolvedLayerConfig,
  stackLayerConfigs,
  TASK_HEAD_TENSORS,
} from '@urgate/contract';
import { SeededRandom } from '@urgate/random';
import { type EngineOps, engineOps } from '../engine-ops.js';
import { deriveSeed } from '../seeds.js';
import {
  HEAD_DROPOUT,
  HEAD_HIDDEN,
  isPixelTask,
  type TaskRunConfig,
  zoneoutRates,
} from './config.js';

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
  /** The ops of the run's engine (config.engine): native kernels or the tfjs reference. */
  ops: EngineOps;
}

/** Seeds of the random draws of one training step. */
const PURPOSE = { zoneoutC: 1, zoneoutH: 2, dropout: 3, head: 4 } as const;

function glorot(fanIn: number, fanOut: number, seed: number): tf.Tensor2D {
  const rng = new SeededRandom(seed);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const data = Float32Array.from({ length: fanIn * fanOut }, () => rng.uniform(-limit, limit));
  return tf.tensor2d(data, [fanIn, fanOut]);
}

/** Sets every gate block's bias (all blocks but the candidate `u`) to `value`. */
function withGateBias(cfg: ResolvedLayerConfig, p: LayerParams, value: number): LayerParams {
  const b = p.b.dataSync().slice() as Float32Array;
  for (const block of layerLayout(cfg).blocks)
    if (block.name !== 'u') b.fill(value, block.offset, block.offset + block.width);
  p.b.dispose();
  return { ...p, b: tf.tensor1d(b) };
}

export function createTaskModel(
  config: TaskRunConfig,
  inputSize: number,
  outputSize: number,
): TaskModel {
  const ops = engineOps(config.engine);
  const layers = stackLayerConfigs({
    core: config.core,
    mechanism: config.mechanism,
    inputSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    ...(config.downsize !== null ? { downsize: config.downsize } : {}),
    ...(config.tMax !== null ? { tMax: config.tMax } : {}),
  });
  const params: Record<string, tf.Variable> = {};
  layers.forEach((cfg, l) => {
    let p = initLayerParams(cfg, config.seed + l);
    if (config.gateBias !== null) p = withGateBias(cfg, p, config.gateBias);
    params[layerTensorName(l, 'W')] = tf.variable(p.W);
    params[layerTensorName(l, 'b')] = tf.variable(p.b);
  });
  const d = config.hiddenSize;
  const headSeed = deriveSeed(config.seed, PURPOSE.head);
  if (isPixelTask(config.task)) {
    params[CLASSIFIER_TENSORS.W1] = tf.variable(glorot(d, HEAD_HIDDEN, headSeed));
    params[CLASSIFIER_TENSORS.b1] = tf.variable(tf.zeros([HEAD_HIDDEN]));
    params[CLASSIFIER_TENSORS.W2] = tf.variable(glorot(HEAD_HIDDEN, outputSize, headSeed + 1));
    params[CLASSIFIER_TENSORS.b2] = tf.variable(tf.zeros([outputSize]));
  } else {
    params[TASK_HEAD_TENSORS.W] = tf.variable(glorot(d, outputSize, headSeed));
    params[TASK_HEAD_TENSORS.b] = tf.variable(tf.zeros([outputSize]));
  }
  return {
    config,
    layers,
    params,
    outputSize,
    zoneout: zoneoutRates(config.core, config.zoneout),
    ops,
  };
}

/** Model section of the checkpoint metadata (LAYOUT.md): pixel tasks are `kind: "classifier"`. */
export function modelMeta(model: TaskModel): Record<string, unknown> {
  const first = model.layers[0];
  return {
    kind: isPixelTask(model.config.task) ? 'classifier' : 'task',
    task: model.config.task,
    core: first.core,
    mechanism: first.mechanism,
    numLayers: model.layers.length,
    inputSize: first.inputSize,
    hiddenSize: first.hiddenSize,
    downsize: first.downsize,
    tMax: first.tMax,
    fixedGateOffset: first.fixedGateOffset,
    numClasses: model.outputSize,
    zoneout: model.zoneout,
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
  const { ops } = model;
  model.layers.forEach((cfg, l) => {
    const d = cfg.hiddenSize;
    const z = model.zoneout;
    const mask = (rate: number, purpose: number): tf.Tensor3D | undefined => {
      if (z === null || rate === 0) return undefined;
      if (!mode.training) return tf.fill([T, B, d], rate) as tf.Tensor3D;
      const seed = deriveSeed(model.config.seed, mode.step, l, purpose);
      const draw = (shape: number[]) => ops.zoneoutMask(rate, shape, seed);
      return maskRows(mode, 1, draw, [T, B, d]) as tf.Tensor3D;
    };
    const extras = {
      zoneoutC: cfg.core === 'lstm' && z ? mask(z.c, PURPOSE.zoneoutC) : undefined,
      zoneoutH: z ? mask(z.h, PURPOSE.zoneoutH) : undefined,
    };
    input = runLayerWith(
      ops.kernel,
      cfg,
      layerParams(model, l),
      input,
      zeroState(cfg, B),
      extras,
    ).outputs;
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
  return model.ops.dense(x, p2(model, W), model.params[b] as unknown as tf.Tensor1D, activation);
}

/** Steps [start, T) of h. */
function stepsFrom(model: TaskModel, h: tf.Tensor3D, start: number): tf.Tensor3D {
  return model.ops.sliceSteps(h, start, h.shape[0] - start);
}

/** Copy head: logits of the last 10 steps, [10·B, 10] in time-major order (row t·B + b). */
export function copyLogits(model: TaskModel, h: tf.Tensor3D, targetStart: number): tf.Tensor2D {
  const tail = stepsFrom(model, h, targetStart).reshape([-1, h.shape[2]]) as tf.Tensor2D;
  return dense(tail, model, TASK_HEAD_TENSORS.W, TASK_HEAD_TENSORS.b);
}

function lastStep(model: TaskModel, h: tf.Tensor3D): tf.Tensor2D {
  const [T, B, d] = h.shape;
  return stepsFrom(model, h, T - 1).reshape([B, d]) as tf.Tensor2D;
}

/** Adding head: prediction from the last step, [B]. */
export function addingPrediction(model: TaskModel, h: tf.Tensor3D): tf.Tensor1D {
  return dense(lastStep(model, h), model, TASK_HEAD_TENSORS.W, TASK_HEAD_TENSORS.b).reshape([
    -1,
  ]) as tf.Tensor1D;
}

/** Classifier head: ReLU(h_T W1 + b1) (dropout 0.5 in training with zoneout) W2 + b2, [B, K]. */
export function classifierLogits(model: TaskModel, h: tf.Tensor3D, mode: Mode): tf.Tensor2D {
  let hidden = dense(
    lastStep(model, h),
    model,
    CLASSIFIER_TENSORS.W1,
    CLASSIFIER_TENSORS.b1,
    'relu',
  );
  if (mode.training && model.zoneout !== null) {
    const seed = deriveSeed(model.config.seed, mode.step, PURPOSE.dropout);
    const draw = (shape: number[]) => model.ops.dropoutMask(HEAD_DROPOUT, shape, seed);
    hidden = tf.mul(hidden, maskRows(mode, 0, draw, hidden.shape));
  }
  return dense(hidden, model, CLASSIFIER_TENSORS.W2, CLASSIFIER_TENSORS.b2);
}

/**
 * Average effective forget gate F per unit of layer `l` over all steps and sequences of a batch
 * (paper Figure 4), recomputed from the layer's inputs and outputs (evaluation mode).
 */
export function meanForgetPerUnit(model: TaskModel, xs: tf.Tensor3D, l = 0): Float32Array {
  return tf.tidy(() => {
    const outputs = runLayers(model, xs, { training: false });
    const cfg = model.layers[l];
    const input = l === 0 ? xs : outputs[l - 1];
    const h = outputs[l];
    const [T, B, d] = h.shape;
    const hPrev = tf.concat([tf.zeros([1, B, d]), h.slice([0, 0, 0], [T - 1, B, d])], 0);
    const rows = tf.concat([input, hPrev], 2).reshape([T * B, cfg.inputSize + d]) as tf.Tensor2D;
    const { W, b } = layerParams(model, l);
    const pre = model.ops.dense(rows, W, b);
    return gate(cfg.mechanism, cfg.core, splitBlocks(pre, layerLayout(cfg)), cfg.downsize)
      .forget.mean(0)
      .dataSync() as Float32Array;
  });
}
