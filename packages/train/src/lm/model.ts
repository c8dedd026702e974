// The language model as the trainer, evaluation and checkpoints see it: one object owning flat
// arenas (parameters, gradients, Adam moments) laid out by @urgate/contract's lmTensorShapes, with a
// train step, scoring and the optimizer step. The native engine is @urgate/kernels' NativeLm;
// the reference engine (reference.ts, tfjs autodiff over the pure-tfjs cells) has the same
// shape. This module loads no tfjs.
import { totalmem } from 'node:os';
import {
  type CheckpointTensors,
  checkAdaptiveSoftmax,
  initLayerValues,
  LM_TENSORS,
  type LmArchitecture,
  layerTensorName,
  lmLayerConfigs,
  lmTensorShapes,
  parseCore,
  parseMechanism,
} from '@urgate/contract';
import {
  type AdamOptions,
  arenaView,
  type LmDropout,
  type LmLayerState,
  type LmWindow,
  lmDownsize,
  type ModelArenas,
  NativeLm,
} from '@urgate/kernels/native';
import { SeededRandom } from '@urgate/random';
import type { Engine } from '../engine.js';
import { deriveSeed } from '../seeds.js';
import { initAdaptiveParams } from './adaptive-softmax.js';

export type { LmArchitecture, LmDropout, LmLayerState, LmWindow };

/** Recurrent state of every layer, [B, d] each. */
export type LmState = LmLayerState[];

/** A language model on either engine. */
export interface LanguageModel extends ModelArenas {
  readonly arch: LmArchitecture;
  zeroState(batch: number): LmState;
  /** Mean cross-entropy of the window; fills the gradient arena. */
  trainStep(
    window: LmWindow,
    state: readonly LmLayerState[],
    dropout: LmDropout | null,
  ): { loss: number; state: LmState };
  /** Natural-log NLL of every target (no dropout). */
  score(window: LmWindow, state: readonly LmLayerState[]): { nll: Float64Array; state: LmState };
  adamUpdate(options: AdamOptions): number;
}

const EMBEDDING_INIT = 0.1;
export const LM_SEED_PURPOSE = { embeddingDropout: 1, outputDropout: 2, output: 3 } as const;

function checkArchitecture(arch: LmArchitecture): void {
  if (arch.tiedEmbeddings && arch.embeddingSize !== arch.hiddenSize)
    throw new Error(
      `embeddingSize: tied embeddings need embeddingSize = hiddenSize (${arch.hiddenSize}), got ${arch.embeddingSize}`,
    );
  checkLmFits(arch, null);
  lmLayerConfigs(arch); // one-line errors naming a bad layer setting
}

/**
 * A language model of `arch` on `engine` with the trainer's initialisation from `seed`: embedding
 * and untied output uniform, layers as @urgate/contract's initLayerValues (layer l from seed + l),
 * layer norm gamma 1, beta 0, output bias 0. The reference engine loads tfjs.
 */
export async function createLanguageModel(
  arch: LmArchitecture,
  seed: number,
  engine: Engine = 'native',
): Promise<LanguageModel> {
  checkArchitecture(arch);
  const model: LanguageModel =
    engine === 'native'
      ? new NativeLm(arch)
      : new (await import('./reference.js')).ReferenceLm(arch);
  initLmParams(model, seed);
  return model;
}

function uniform(into: Float32Array, limit: number, seed: number): void {
  const rng = new SeededRandom(seed);
  for (let k = 0; k < into.length; k++) into[k] = rng.uniform(-limit, limit);
}

function initLmParams(model: LanguageModel, seed: number): void {
  const { arch } = model;
  const view = (name: string) => arenaView(model, name);
  uniform(view(LM_TENSORS.embedding), EMBEDDING_INIT, deriveSeed(seed, 0));
  lmLayerConfigs(arch).forEach((cfg, l) => {
    const values = initLayerValues(cfg, seed + l);
    view(layerTensorName(l, 'W')).set(values.W);
    view(layerTensorName(l, 'b')).set(values.b);
  });
  if (arch.layerNorm) view(LM_TENSORS.normGamma).fill(1);
  if (arch.adaptiveSoftmax) {
    initAdaptiveParams(model, seed);
    return;
  }
  if (!arch.tiedEmbeddings) {
    const { hiddenSize: d, vocabSize: V } = arch;
    uniform(
      view(LM_TENSORS.outputW),
      Math.sqrt(6 / (d + V)),
      deriveSeed(seed, LM_SEED_PURPOSE.output),
    );
  }
}

/** LAYOUT.md `model` section of the checkpoint metadata. */
export function lmModelMeta(arch: LmArchitecture): Record<string, unknown> {
  const first = lmLayerConfigs(arch)[0];
  const { downsize: _d, tMax: _t, ...rest } = arch;
  return {
    kind: 'lm',
    ...rest,
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

/** The parameter arena takes checkpoint tensors of the same names and shapes. */
export function assignLmParams(
  model: ModelArenas,
  tensors: CheckpointTensors,
  source: string,
): void {
  for (const t of model.tensors) {
    const saved = tensors[t.name];
    if (
      !saved ||
      saved.shape.length !== t.shape.length ||
      saved.shape.some((s, k) => s !== t.shape[k])
    )
      throw new Error(`${source}: tensor ${t.name} missing or not of shape [${t.shape}]`);
    arenaView(model, t.name).set(saved.data);
  }
}

/** Dropout seeds of one training step (the reference engine draws the same masks). */
export function lmDropout(
  rate: number,
  seed: number,
  step: number,
  rows?: { total: number; offset: number },
): LmDropout | null {
  if (rate === 0) return null;
  return {
    rate,
    embeddingSeed: deriveSeed(seed, step, LM_SEED_PURPOSE.embeddingDropout),
    outputSeed: deriveSeed(seed, step, LM_SEED_PURPOSE.outputDropout),
    ...(rows ? { rows } : {}),
  };
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

export { lmDownsize };
