import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  type CheckpointTensors,
  initLayerParams,
  LAYER_NORM_EPSILON,
  type LayerParams,
  type LmArchitecture,
  layerTensorName,
  parseCore,
  parseMechanism,
  type ResolvedLayerConfig,
  runStack,
  SeededRandom,
  type State,
  stackLayerConfigs,
  zeroState,
} from '@urgate/cells';
import {
  type LmParamTensors,
  lmLossFused,
  lmScoreFused,
  type NativeLmSpec,
  nativeKernelsInUse,
} from '@urgate/kernels';
import { checkAdaptiveSoftmax, lmTensorShapes } from '@urgate/spec';
import { deriveSeed, dropoutMask } from '../seeds.js';
import {
  adaptiveLogProbs,
  adaptiveParamTensors,
  createAdaptiveParams,
} from './adaptive-softmax.js';

export type { LmArchitecture };

/**
 * Embedding -> stacked gated layers -> optional layer norm -> softmax layer (tied to the
 * embedding or its own `output.W`). Parameters are tf.Variables under their checkpoint names,
 * in a fixed order (the optimizer's).
 */
export interface LmModel {
  arch: LmArchitecture;
  layers: ResolvedLayerConfig[];
  params: Record<string, tf.Variable>;
}

/** Recurrent state of every layer, [B, d] each. */
export type LmState = State[];

const EMBEDDING_INIT = 0.1;
const PURPOSE = { embeddingDropout: 1, outputDropout: 2, output: 3 } as const;

function uniform(shape: [number, number], limit: number, seed: number): tf.Tensor2D {
  const rng = new SeededRandom(seed);
  const data = Float32Array.from({ length: shape[0] * shape[1] }, () => rng.uniform(-limit, limit));
  return tf.tensor2d(data, shape);
}

function stackConfig(arch: LmArchitecture) {
  return {
    core: arch.core,
    mechanism: arch.mechanism,
    inputSize: arch.embeddingSize,
    hiddenSize: arch.hiddenSize,
    numLayers: arch.numLayers,
    ...(arch.downsize !== undefined ? { downsize: arch.downsize } : {}),
    ...(arch.tMax !== undefined ? { tMax: arch.tMax } : {}),
  };
}

export function createLmModel(arch: LmArchitecture, seed: number): LmModel {
  if (arch.tiedEmbeddings && arch.embeddingSize !== arch.hiddenSize)
    throw new Error(
      `embeddingSize: tied embeddings need embeddingSize = hiddenSize (${arch.hiddenSize}), got ${arch.embeddingSize}`,
    );
  checkLmFits(arch, null);
  const layers = stackLayerConfigs(stackConfig(arch));
  const { vocabSize: V, embeddingSize: E, hiddenSize: d } = arch;
  const params: Record<string, tf.Variable> = {
    embedding: tf.variable(uniform([V, E], EMBEDDING_INIT, deriveSeed(seed, 0))),
  };
  layers.forEach((cfg, l) => {
    const p = initLayerParams(cfg, seed + l);
    params[layerTensorName(l, 'W')] = tf.variable(p.W);
    params[layerTensorName(l, 'b')] = tf.variable(p.b);
  });
  if (arch.layerNorm) {
    params['norm.gamma'] = tf.variable(tf.ones([d]));
    params['norm.beta'] = tf.variable(tf.zeros([d]));
  }
  if (arch.adaptiveSoftmax)
    return { arch, layers, params: { ...params, ...createAdaptiveParams(arch, seed) } };
  if (!arch.tiedEmbeddings)
    params['output.W'] = tf.variable(
      uniform([d, V], Math.sqrt(6 / (d + V)), deriveSeed(seed, PURPOSE.output)),
    );
  params['output.b'] = tf.variable(tf.zeros([V]));
  return { arch, layers, params };
}

/** LAYOUT.md `model` section of the checkpoint metadata. */
export function lmModelMeta(model: LmModel): Record<string, unknown> {
  const first = model.layers[0];
  const { downsize: _d, tMax: _t, ...arch } = model.arch;
  return {
    kind: 'lm',
    ...arch,
    downsize: first.downsize,
    tMax: first.tMax,
    fixedGateOffset: false,
    zoneout: null,
  };
}

/** Architecture from a checkpoint's `model` section; one-line error when it is not an LM. */
export function lmArchitectureFromMeta(
  meta: Record<string, unknown>,
  source: string,
): LmArchitecture {
  if (meta?.kind !== 'lm')
    throw new Error(
      `${source}: not a language-model checkpoint (model.kind is ${JSON.stringify(meta?.kind)})`,
    );
  const int = (key: string) => {
    const v = meta[key];
    if (!Number.isInteger(v) || (v as number) <= 0)
      throw new Error(
        `${source}: model.${key} must be a positive integer, got ${JSON.stringify(v)}`,
      );
    return v as number;
  };
  return {
    core: parseCore(String(meta.core)),
    mechanism: parseMechanism(String(meta.mechanism)),
    numLayers: int('numLayers'),
    vocabSize: int('vocabSize'),
    embeddingSize: int('embeddingSize'),
    hiddenSize: int('hiddenSize'),
    layerNorm: meta.layerNorm === true,
    tiedEmbeddings: meta.tiedEmbeddings === true,
    ...(typeof meta.downsize === 'number' ? { downsize: meta.downsize } : {}),
    ...(typeof meta.tMax === 'number' ? { tMax: meta.tMax } : {}),
    ...(meta.adaptiveSoftmax ? { adaptiveSoftmax: adaptiveFromMeta(meta, source) } : {}),
  };
}

function adaptiveFromMeta(meta: Record<string, unknown>, source: string) {
  const a = meta.adaptiveSoftmax as { cutoffs?: unknown; tailDiv?: unknown };
  const adaptive = { cutoffs: a.cutoffs as number[], tailDiv: a.tailDiv as number };
  try {
    if (!Array.isArray(a.cutoffs)) throw new Error('adaptiveSoftmax.cutoffs: expected an array');
    checkAdaptiveSoftmax(adaptive, meta.vocabSize as number, meta.hiddenSize as number);
  } catch (e) {
    throw new Error(`${source}: model.${(e as Error).message}`);
  }
  return adaptive;
}

/** Replaces the parameter values by checkpoint tensors of the same names and shapes. */
export function assignLmParams(model: LmModel, tensors: CheckpointTensors, source: string): void {
  for (const [name, v] of Object.entries(model.params)) {
    const t = tensors[name];
    if (!t || t.shape.length !== v.shape.length || t.shape.some((s, k) => s !== v.shape[k]))
      throw new Error(`${source}: tensor ${name} missing or not of shape [${v.shape}]`);
    v.assign(tf.tensor(t.data, v.shape));
  }
}

export function zeroLmState(model: LmModel, batch: number): LmState {
  return model.layers.map((cfg) => zeroState(cfg, batch));
}

export function disposeState(state: LmState): void {
  for (const s of state) tf.dispose(s.c ? [s.h, s.c] : [s.h]);
}

export function layerParamsOf(model: LmModel): LayerParams[] {
  return model.layers.map((_, l) => ({
    W: model.params[layerTensorName(l, 'W')] as unknown as tf.Tensor2D,
    b: model.params[layerTensorName(l, 'b')] as unknown as tf.Tensor1D,
  }));
}

/** One window, time-major [T, B] (element t * B + b), as @urgate/wikitext's batches give it. */
export interface LmWindow {
  steps: number;
  batch: number;
  inputs: Int32Array;
  /** 1 = zero that row's state before step t (an article starts there). */
  resets: Uint8Array;
}

/** Training: dropout masks drawn from (seed, step); evaluation: no dropout. */
export type LmMode =
  | { training: true; dropout: number; seed: number; step: number }
  | { training: false };

function dropout(x: tf.Tensor, mode: LmMode, purpose: number): tf.Tensor {
  if (!mode.training || mode.dropout === 0) return x;
  return tf.mul(x, dropoutMask(mode.dropout, x.shape, deriveSeed(mode.seed, mode.step, purpose)));
}

/**
 * Rows `ids` of the embedding. tfjs' gradient of gather on the cpu backend runs one op per
 * vocabulary entry (unsortedSegmentSum), minutes per step at V = 10^4; this scatter-adds the
 * rows' gradients in one pass instead.
 */
export function embeddingLookup(embedding: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [V, E] = embedding.shape;
  const lookup = tf.customGrad(((table: tf.Tensor) => ({
    value: tf.gather(table, tf.tensor1d(ids, 'int32')),
    gradFunc: (dy: tf.Tensor) => {
      const rows = dy.dataSync() as Float32Array;
      const grad = new Float32Array(V * E);
      for (let r = 0; r < ids.length; r++) {
        const to = ids[r] * E;
        const from = r * E;
        for (let k = 0; k < E; k++) grad[to + k] += rows[from + k];
      }
      return tf.tensor2d(grad, [V, E]);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return lookup(embedding) as tf.Tensor2D;
}

/** Logits [T·B, V] (row t·B + b) of one window and the state after it. Call inside a tidy. */
export function lmForward(
  model: LmModel,
  window: LmWindow,
  state: LmState,
  mode: LmMode,
): { logits: tf.Tensor2D; state: LmState } {
  const { steps: T, batch: B } = window;
  const { embeddingSize: E, hiddenSize: d } = model.arch;
  const embedding = model.params.embedding as unknown as tf.Tensor2D;
  const x = dropout(embeddingLookup(embedding, window.inputs), mode, PURPOSE.embeddingDropout);
  const reset = window.resets.includes(1)
    ? tf.tensor2d(Float32Array.from(window.resets), [T, B])
    : undefined;
  const { outputs, states } = runStack(
    stackConfig(model.arch),
    layerParamsOf(model),
    x.reshape([T, B, E]) as tf.Tensor3D,
    state,
    reset ? { reset } : {},
  );
  let h: tf.Tensor = dropout(outputs.reshape([T * B, d]), mode, PURPOSE.outputDropout);
  if (model.arch.layerNorm) {
    const { mean, variance } = tf.moments(h, -1, true);
    h = tf.add(
      tf.mul(
        tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPSILON))),
        model.params['norm.gamma'],
      ),
      model.params['norm.beta'],
    );
  }
  if (model.arch.adaptiveSoftmax) {
    // log-probabilities are logits too: softmax(log p) = p
    const params = model.params as unknown as Record<string, tf.Tensor>;
    return { logits: adaptiveLogProbs(model.arch, params, h as tf.Tensor2D), state: states };
  }
  const tied = model.arch.tiedEmbeddings;
  const logits = tf.fused.matMul({
    a: h as tf.Tensor2D,
    b: tied ? embedding : (model.params['output.W'] as unknown as tf.Tensor2D),
    transposeB: tied,
    bias: model.params['output.b'],
  }) as tf.Tensor2D;
  return { logits, state: states };
}

/** Natural-log NLL of each row's target, in float64 from the logits (logsumexp − logit). */
export function rowNll(logits: Float32Array, vocabSize: number, targets: Int32Array): Float64Array {
  const out = new Float64Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    const base = r * vocabSize;
    let max = -Infinity;
    for (let k = 0; k < vocabSize; k++) if (logits[base + k] > max) max = logits[base + k];
    let sum = 0;
    for (let k = 0; k < vocabSize; k++) sum += Math.exp(logits[base + k] - max);
    out[r] = max + Math.log(sum) - logits[base + targets[r]];
  }
  return out;
}

/** A window with the token each position predicts. */
export interface LmTargetWindow extends LmWindow {
  targets: Int32Array;
}

/**
 * Bytes a training step of `arch` needs, roughly: parameters with their gradients and Adam
 * moments, and (with a window shape) what the forward pass keeps for the backward pass.
 */
export function lmTrainingBytes(
  arch: LmArchitecture,
  window: { batch: number; steps: number } | null,
): { parameters: number; activations: number } {
  const { vocabSize: V, embeddingSize: E, hiddenSize: d, numLayers: L } = arch;
  const cols = 4 * d; // at most four gate blocks (master gates are smaller)
  const count = lmTensorShapes(arch).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  // value, gradient, two Adam moments; float32
  const parameters = 4 * 4 * count;
  if (window === null) return { parameters, activations: 0 };
  const N = window.batch * window.steps;
  const chunk = Math.min(N, Math.max(256, Math.floor(2 ** 22 / V)));
  const perRow = E + L * (d + cols + 4 * d) + 4 * d;
  return { parameters, activations: 4 * (N * perRow + chunk * V) };
}

const GB = 2 ** 30;

/**
 * Refuses, before anything is allocated, a model (or model and window) whose training would not
 * fit this machine's memory: one line naming the settings and the estimated bytes.
 */
export function checkLmFits(
  arch: LmArchitecture,
  window: { batch: number; steps: number } | null,
  available = totalmem(),
): void {
  const { parameters, activations } = lmTrainingBytes(arch, window);
  const have = `this machine has ${(available / GB).toFixed(1)} GB`;
  if (parameters > available)
    throw new Error(
      `hiddenSize: a model with hiddenSize ${arch.hiddenSize}, embeddingSize ${arch.embeddingSize}, vocabSize ${arch.vocabSize}, numLayers ${arch.numLayers} needs about ${parameters.toExponential(2)} bytes (${(parameters / GB).toFixed(1)} GB) for parameters, gradients and Adam moments; ${have}`,
    );
  if (window !== null && parameters + activations > available)
    throw new Error(
      `batchSize: batchSize ${window.batch} x bptt ${window.steps} needs about ${activations.toExponential(2)} bytes (${(activations / GB).toFixed(1)} GB) of activations besides ${(parameters / GB).toFixed(1)} GB of parameters and optimizer state; ${have}`,
    );
}

/** The native kernels' view of the model for a [T, B] window. */
export function lmNativeSpec(model: LmModel, batch: number, steps: number): NativeLmSpec {
  const a = model.arch;
  return {
    core: a.core,
    mechanism: a.mechanism,
    numLayers: a.numLayers,
    vocabSize: a.vocabSize,
    embeddingSize: a.embeddingSize,
    hiddenSize: a.hiddenSize,
    downsize: model.layers[0].downsize,
    layerNorm: a.layerNorm,
    tiedEmbeddings: a.tiedEmbeddings,
    adaptiveSoftmax: a.adaptiveSoftmax ?? null,
    batch,
    steps,
  };
}

function paramTensors(model: LmModel): LmParamTensors {
  const p = model.params as unknown as Record<string, tf.Tensor>;
  return {
    embedding: p.embedding as tf.Tensor2D,
    layers: layerParamsOf(model).map(({ W, b }) => ({ W, b })),
    ...(model.arch.layerNorm
      ? { gamma: p['norm.gamma'] as tf.Tensor1D, beta: p['norm.beta'] as tf.Tensor1D }
      : {}),
    ...(model.arch.adaptiveSoftmax
      ? { adaptive: adaptiveParamTensors(model.arch, p) }
      : {
          ...(model.arch.tiedEmbeddings ? {} : { outputW: p['output.W'] as tf.Tensor2D }),
          outputB: p['output.b'] as tf.Tensor1D,
        }),
  };
}

/** Mean cross-entropy of the tfjs reference: log-softmax of lmForward's logits. */
function referenceLoss(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const V = logits.shape[1];
  const picked = tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(targets, 'int32'), V));
  return tf.neg(tf.div(tf.sum(picked), targets.length)) as tf.Scalar;
}

/** Seeds of one training step's dropout masks (the reference path draws the same masks). */
function dropoutSeeds(mode: LmMode) {
  if (!mode.training || mode.dropout === 0) return null;
  return {
    rate: mode.dropout,
    embeddingSeed: deriveSeed(mode.seed, mode.step, PURPOSE.embeddingDropout),
    outputSeed: deriveSeed(mode.seed, mode.step, PURPOSE.outputDropout),
  };
}

/**
 * Training loss of one window (mean cross-entropy, differentiable with respect to every
 * parameter) and the state after it. With the native kernels in use the whole model runs as one
 * native forward+backward call; otherwise it is the tfjs reference (lmForward + log-softmax).
 * Call inside tf.variableGrads or a tidy.
 */
export function lmLoss(
  model: LmModel,
  window: LmTargetWindow,
  state: LmState,
  mode: LmMode,
  path: 'auto' | 'reference' = 'auto',
): { loss: tf.Scalar; state: LmState } {
  if (path === 'reference' || !nativeKernelsInUse()) {
    const out = lmForward(model, window, state, mode);
    return { loss: referenceLoss(out.logits, window.targets), state: out.state };
  }
  const { steps: T, batch: B } = window;
  fitsOnce(model.arch, B, T);
  return lmLossFused(
    lmNativeSpec(model, B, T),
    paramTensors(model),
    window,
    state,
    dropoutSeeds(mode),
  );
}

/** Per-row natural-log NLL of a window's targets (evaluation: no dropout) and the next state. */
export function lmScore(
  model: LmModel,
  window: LmTargetWindow,
  state: LmState,
): { nll: Float64Array; state: LmState } {
  if (!nativeKernelsInUse()) {
    let logits: Float32Array = new Float32Array(0);
    const next = tf.tidy(() => {
      const out = lmForward(model, window, state, { training: false });
      logits = out.logits.dataSync() as Float32Array;
      return out.state as unknown as tf.TensorContainer;
    }) as unknown as LmState;
    return { nll: rowNll(logits, model.arch.vocabSize, window.targets), state: next };
  }
  return lmScoreFused(
    lmNativeSpec(model, window.batch, window.steps),
    paramTensors(model),
    window,
    state,
  );
}

const checked = new Set<string>();

function fitsOnce(arch: LmArchitecture, batch: number, steps: number): void {
  const key = JSON.stringify([arch, batch, steps]);
  if (checked.has(key)) return;
  checkLmFits(arch, { batch, steps });
  checked.add(key);
}
