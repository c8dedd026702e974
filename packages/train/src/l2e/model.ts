// The reference engine's l2e model: tf.Variables and tfjs ops with autodiff. One recurrent core
// (cells' tfjs stacked LSTM/GRU layers, or the tfjs RMC) reads one-hot characters, first the
// program, then the decoder inputs; a linear head `output.W [d, V]`, `output.b [V]` maps its
// outputs at the target positions to character logits. The native engine is @urgate/kernels'
// NativeL2eModel (native-training.ts); both start from params.ts's values.
import * as tf from '@tensorflow/tfjs';
import { type LayerParams, runStack, zeroState } from '@urgate/cells';
import { L2E_TENSORS, type L2eArchitecture, l2eCoreWidth, layerTensorName } from '@urgate/contract';
import { initialMemory, runRmcReference } from '@urgate/rmc';
import { REFERENCE_OPS as ops } from '../reference-ops.js';
import type { L2eRunConfig } from './config.js';
import type { L2eBatch } from './data.js';
import { initL2eTensors, l2eArchitecture, l2eRmcConfig } from './params.js';

export interface L2eModel {
  config: L2eRunConfig;
  arch: L2eArchitecture;
  /** Trainable parameters by checkpoint name, in the table's order (the optimizer's). */
  params: Record<string, tf.Variable>;
  /** Untrained tensors (the RMC's gate offsets), re-created from the seed. */
  constants: Record<string, tf.Tensor>;
}

export function createL2eModel(config: L2eRunConfig, vocabSize: number): L2eModel {
  const arch = l2eArchitecture(config, vocabSize);
  const init = initL2eTensors(config, arch);
  const tensor = (t: { shape: number[]; data: Float32Array }) => tf.tensor(t.data, t.shape);
  return {
    config,
    arch,
    params: Object.fromEntries(
      Object.entries(init.params).map(([name, t]) => [name, tf.variable(tensor(t))]),
    ),
    constants: Object.fromEntries(
      Object.entries(init.constants).map(([name, t]) => [name, tensor(t)]),
    ),
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
  return model.arch.layers.map((_, l) => ({
    W: model.params[layerTensorName(l, 'W')] as unknown as tf.Tensor2D,
    b: model.params[layerTensorName(l, 'b')] as unknown as tf.Tensor1D,
  }));
}

/** Core outputs [T·B, width] of the stream from the zero state (identity memory for the RMC). */
function coreOutputs(model: L2eModel, batch: L2eBatch): tf.Tensor2D {
  const xs = oneHotStream(batch);
  const B = batch.batchSize;
  const { arch } = model;
  let outputs: tf.Tensor3D;
  const rmc = l2eRmcConfig(model.config, arch.vocabSize);
  if (rmc) {
    const head: string[] = Object.values(L2E_TENSORS);
    const core = Object.fromEntries(
      Object.entries(model.params).filter(([name]) => !head.includes(name)),
    );
    outputs = runRmcReference(
      rmc,
      { ...core, ...model.constants },
      xs,
      initialMemory(rmc, B),
    ).outputs;
  } else {
    const first = arch.layers[0];
    outputs = runStack(
      { ...first, numLayers: arch.layers.length },
      layerParams(model),
      xs,
      arch.layers.map((cfg) => zeroState(cfg, B)),
    ).outputs;
  }
  return outputs.reshape([batch.steps * B, l2eCoreWidth(arch)]) as tf.Tensor2D;
}

/** Logits [N, V] of the batch's N target characters (targetRows' order). Call inside a tidy. */
export function l2eLogits(model: L2eModel, batch: L2eBatch): tf.Tensor2D {
  const rows = gatherRows(coreOutputs(model, batch), batch.targetRows);
  const W = model.params[L2E_TENSORS.outputW] as unknown as tf.Tensor2D;
  const b = model.params[L2E_TENSORS.outputB] as unknown as tf.Tensor1D;
  return ops.dense(rows, W, b);
}

/** Mean cross-entropy over the target characters: padding and program positions carry none. */
export function l2eLoss(
  model: L2eModel,
  batch: L2eBatch,
): { loss: tf.Scalar; logits: tf.Tensor2D } {
  const logits = l2eLogits(model, batch);
  return { loss: ops.crossEntropy(logits, tf.tensor1d(batch.targets, 'int32')), logits };
}
