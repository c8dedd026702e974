// The encoder-decoder of program evaluation: one recurrent core (stacked LSTM/GRU layers
// through the native kernels, or the RMC) reads one-hot characters, first the program, then
// the decoder inputs; a linear head `output.W [d, V]`, `output.b [V]` maps its outputs at the
// target positions to character logits.

import * as tf from '@tensorflow/tfjs';
import { initLayerParams, type LayerParams, runStack, zeroState } from '@urgate/cells';
import {
  L2E_TENSORS,
  layerTensorName,
  type ResolvedLayerConfig,
  type RmcConfig,
  type RmcMechanism,
  resolveRmcConfig,
  rmcParamLayout,
  stackLayerConfigs,
} from '@urgate/contract';
import { SeededRandom } from '@urgate/random';
import { initialMemory, initRmcParams, runRmc } from '@urgate/rmc';
import { type EngineOps, engineOps } from '../engine-ops.js';
import { deriveSeed } from '../seeds.js';
import type { L2eRunConfig } from './config.js';
import type { L2eBatch } from './data.js';

export interface L2eModel {
  config: L2eRunConfig;
  vocabSize: number;
  /** LSTM/GRU layers ([] for the RMC). */
  layers: ResolvedLayerConfig[];
  rmc: RmcConfig | null;
  /** Trainable parameters by checkpoint name, in a fixed order (the optimizer's). */
  params: Record<string, tf.Variable>;
  /** Untrained tensors (the RMC's gate offsets), re-created from the seed. */
  constants: Record<string, tf.Tensor>;
  /** Width of the core's output: hidden size, or memSlots · memSize. */
  outputWidth: number;
  /** The ops of the run's engine (config.engine): native kernels or the tfjs reference. */
  ops: EngineOps;
}

const PURPOSE = { output: 1 } as const;

function glorot(fanIn: number, fanOut: number, seed: number): tf.Tensor2D {
  const rng = new SeededRandom(seed);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const data = Float32Array.from({ length: fanIn * fanOut }, () => rng.uniform(-limit, limit));
  return tf.tensor2d(data, [fanIn, fanOut]);
}

function l2eRmcConfig(config: L2eRunConfig, vocabSize: number): RmcConfig | null {
  if (config.rmc === null) return null;
  return {
    inputSize: vocabSize,
    ...config.rmc,
    mechanism: config.mechanism as RmcMechanism,
  };
}

export function createL2eModel(config: L2eRunConfig, vocabSize: number): L2eModel {
  const ops = engineOps(config.engine);
  const params: Record<string, tf.Variable> = {};
  const constants: Record<string, tf.Tensor> = {};
  const rmc = l2eRmcConfig(config, vocabSize);
  let layers: ResolvedLayerConfig[] = [];
  let outputWidth: number;
  if (rmc) {
    const resolved = resolveRmcConfig(rmc);
    const init = initRmcParams(rmc, config.seed);
    for (const spec of rmcParamLayout(resolved)) {
      if (spec.trainable) params[spec.name] = tf.variable(init[spec.name]);
      else constants[spec.name] = init[spec.name];
    }
    outputWidth = resolved.memSlots * resolved.memSize;
  } else {
    layers = stackLayerConfigs({
      core: config.core as 'lstm' | 'gru',
      mechanism: config.mechanism,
      inputSize: vocabSize,
      hiddenSize: config.hiddenSize,
      numLayers: config.numLayers,
    });
    layers.forEach((cfg, l) => {
      const p = initLayerParams(cfg, config.seed + l);
      params[layerTensorName(l, 'W')] = tf.variable(p.W);
      params[layerTensorName(l, 'b')] = tf.variable(p.b);
    });
    outputWidth = config.hiddenSize;
  }
  params[L2E_TENSORS.outputW] = tf.variable(
    glorot(outputWidth, vocabSize, deriveSeed(config.seed, PURPOSE.output)),
  );
  params[L2E_TENSORS.outputB] = tf.variable(tf.zeros([vocabSize]));
  return { config, vocabSize, layers, rmc, params, constants, outputWidth, ops };
}

/** LAYOUT.md `model` section of the checkpoint metadata (kind "l2e"). */
export function l2eModelMeta(model: L2eModel): Record<string, unknown> {
  const c = model.config;
  const first = model.layers[0];
  return {
    kind: 'l2e',
    grammar: c.grammar,
    core: c.core,
    mechanism: c.mechanism,
    vocabSize: model.vocabSize,
    numLayers: c.numLayers,
    hiddenSize: c.hiddenSize,
    ...(first
      ? { downsize: first.downsize, tMax: first.tMax, fixedGateOffset: first.fixedGateOffset }
      : {}),
    ...(model.rmc ? { rmc: resolveRmcConfig(model.rmc) } : {}),
    zoneout: null,
  };
}

/** One-hot characters [T, B, V] of the stream (built directly: no op on the tape). */
function oneHotStream(batch: L2eBatch): tf.Tensor3D {
  const V = batch.vocabSize;
  const data = new Float32Array(batch.stream.length * V);
  for (let r = 0; r < batch.stream.length; r++) data[r * V + batch.stream[r]] = 1;
  return tf.tensor3d(data, [batch.steps, batch.batchSize, V]);
}

/**
 * Rows `rows` of x [R, d]; the gradient scatters back into [R, d]. Plain copies in both
 * directions: tfjs' gather gradient on the cpu backend is a per-row op loop.
 */
function gatherRows(x: tf.Tensor2D, rows: Int32Array): tf.Tensor2D {
  const [R, d] = x.shape;
  const op = tf.customGrad(((input: tf.Tensor) => {
    const src = input.dataSync() as Float32Array;
    const out = new Float32Array(rows.length * d);
    for (let k = 0; k < rows.length; k++)
      out.set(src.subarray(rows[k] * d, rows[k] * d + d), k * d);
    return {
      value: tf.tensor2d(out, [rows.length, d]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const grad = new Float32Array(R * d);
        for (let k = 0; k < rows.length; k++) {
          const to = rows[k] * d;
          const from = k * d;
          for (let j = 0; j < d; j++) grad[to + j] += g[from + j];
        }
        return tf.tensor2d(grad, [R, d]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

function layerParams(model: L2eModel): LayerParams[] {
  return model.layers.map((_, l) => ({
    W: model.params[layerTensorName(l, 'W')] as unknown as tf.Tensor2D,
    b: model.params[layerTensorName(l, 'b')] as unknown as tf.Tensor1D,
  }));
}

/** Core outputs [T·B, width] of the stream from the zero state (identity memory for the RMC). */
function coreOutputs(model: L2eModel, batch: L2eBatch): tf.Tensor2D {
  const xs = oneHotStream(batch);
  const B = batch.batchSize;
  let outputs: tf.Tensor3D;
  if (model.rmc) {
    const head: string[] = Object.values(L2E_TENSORS);
    const core = Object.fromEntries(
      Object.entries(model.params).filter(([name]) => !head.includes(name)),
    );
    outputs = runRmc(
      model.rmc,
      { ...core, ...model.constants },
      xs,
      initialMemory(model.rmc, B),
      model.ops.engine,
    ).outputs;
  } else {
    const c = model.config;
    outputs = runStack(
      {
        core: c.core as 'lstm' | 'gru',
        mechanism: c.mechanism,
        inputSize: model.vocabSize,
        hiddenSize: c.hiddenSize,
        numLayers: c.numLayers,
      },
      layerParams(model),
      xs,
      model.layers.map((cfg) => zeroState(cfg, B)),
      { kernel: model.ops.kernel },
    ).outputs;
  }
  return outputs.reshape([batch.steps * B, model.outputWidth]) as tf.Tensor2D;
}

/** Logits [N, V] of the batch's N target characters (targetRows' order). Call inside a tidy. */
export function l2eLogits(model: L2eModel, batch: L2eBatch): tf.Tensor2D {
  const rows = gatherRows(coreOutputs(model, batch), batch.targetRows);
  const W = model.params[L2E_TENSORS.outputW] as unknown as tf.Tensor2D;
  const b = model.params[L2E_TENSORS.outputB] as unknown as tf.Tensor1D;
  return model.ops.dense(rows, W, b);
}

/** Mean cross-entropy over the target characters: padding and program positions carry none. */
export function l2eLoss(
  model: L2eModel,
  batch: L2eBatch,
): { loss: tf.Scalar; logits: tf.Tensor2D } {
  const logits = l2eLogits(model, batch);
  return { loss: model.ops.crossEntropy(logits, tf.tensor1d(batch.targets, 'int32')), logits };
}

export interface L2eScore {
  /** Target characters whose argmax is right, of `chars`. */
  correct: number;
  chars: number;
  /** Programs with every target character right, of `programs`. */
  solved: number;
  programs: number;
}

/** Counts from target-row logits [N, V] (row-major), sample by sample (targetOffsets). */
export function scoreLogits(
  logits: Float32Array,
  batch: Pick<L2eBatch, 'targets' | 'targetOffsets' | 'vocabSize'>,
): L2eScore {
  const V = batch.vocabSize;
  const B = batch.targetOffsets.length - 1;
  let correct = 0;
  let solved = 0;
  for (let b = 0; b < B; b++) {
    let all = true;
    for (let r = batch.targetOffsets[b]; r < batch.targetOffsets[b + 1]; r++) {
      let best = 0;
      for (let k = 1; k < V; k++) if (logits[r * V + k] > logits[r * V + best]) best = k;
      if (best === batch.targets[r]) correct++;
      else all = false;
    }
    if (all) solved++;
  }
  return { correct, chars: batch.targets.length, solved, programs: B };
}
