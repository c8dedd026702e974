import type * as tf from '@tensorflow/tfjs';
import * as tfc from '@tensorflow/tfjs';
import type { CheckpointTensors } from '@urgate/contract';
import {
  type LayerConfig,
  type LayerTensor,
  layerLayout,
  layerTensorName,
  stackLayerConfigs,
} from '@urgate/contract';
import { initLayerParams } from './init.js';
import { runLayerWith, type SequenceKernel } from './sequence.js';
import type { LayerParams, SequenceResult, State } from './types.js';

/** A stack of layers; layer l > 0 reads layer l-1's h (its inputSize is hiddenSize). */
export interface StackConfig extends LayerConfig {
  numLayers: number;
}

export interface StackExtras {
  /** [T, B]: applies to every layer's state. */
  reset?: tf.Tensor2D;
  /** One [T, B, d] mask per layer. */
  zoneoutC?: tf.Tensor3D[];
  zoneoutH?: tf.Tensor3D[];
  /** The layers' kernel (e.g. @urgate/kernels' sequenceKernel(engine)); null or absent: the reference. */
  kernel?: SequenceKernel | null;
}

export interface StackResult {
  /** [T, B, d]: h of the last layer. */
  outputs: tf.Tensor3D;
  states: State[];
}

/** Layer l is initialised from seed + l. */
export function initStackParams(cfg: StackConfig, seed: number): LayerParams[] {
  return stackLayerConfigs(cfg).map((layer, l) => initLayerParams(layer, seed + l));
}

/** Runs the layers in turn (each through runLayerWith); call it inside tf.tidy to free the intermediate layers' outputs. */
export function runStack(
  cfg: StackConfig,
  params: LayerParams[],
  xs: tf.Tensor3D,
  states0: State[],
  extras: StackExtras = {},
): StackResult {
  const layers = stackLayerConfigs(cfg);
  for (const [what, list] of [
    ['params', params],
    ['states0', states0],
    ['extras.zoneoutC', extras.zoneoutC],
    ['extras.zoneoutH', extras.zoneoutH],
  ] as const) {
    if (list !== undefined && (!Array.isArray(list) || list.length !== layers.length)) {
      throw new Error(
        `${what}: expected an array with one entry per layer (${layers.length}), got ${Array.isArray(list) ? list.length : typeof list}`,
      );
    }
  }
  let input = xs;
  const states: State[] = [];
  layers.forEach((layer, l) => {
    const layerExtras = {
      reset: extras.reset,
      zoneoutC: extras.zoneoutC?.[l],
      zoneoutH: extras.zoneoutH?.[l],
    };
    const result: SequenceResult = runLayerWith(
      extras.kernel ?? null,
      layer,
      params[l],
      input,
      states0[l],
      layerExtras,
    );
    states.push(result.state);
    input = result.outputs;
  });
  return { outputs: input, states };
}

/** Checkpoint tensors named layers.<l>.W, layers.<l>.b, layers.<l>.bOffset (LAYOUT.md). */
export async function stackParamsToTensors(params: LayerParams[]): Promise<CheckpointTensors> {
  const out: CheckpointTensors = {};
  for (const [l, p] of params.entries()) {
    for (const [name, t] of Object.entries(p) as [string, tf.Tensor | undefined][]) {
      if (t !== undefined)
        out[layerTensorName(l, name as LayerTensor)] = {
          shape: [...t.shape],
          data: (await t.data()) as Float32Array,
        };
    }
  }
  return out;
}

export function stackParamsFromTensors(
  tensors: CheckpointTensors,
  cfg: StackConfig,
): LayerParams[] {
  return stackLayerConfigs(cfg).map((layer, l) => {
    const get = (name: LayerTensor) => tensors[layerTensorName(l, name)];
    const W = get('W');
    const b = get('b');
    if (W === undefined || b === undefined)
      throw new Error(`tensors: layer ${l} needs layers.${l}.W and layers.${l}.b`);
    const { cols } = layerLayout(layer);
    const expectShape = (name: string, got: number[], want: number[]) => {
      if (got.length !== want.length || got.some((s, k) => s !== want[k])) {
        throw new Error(
          `tensors: layers.${l}.${name} has shape ${JSON.stringify(got)}, expected ${JSON.stringify(want)} for ${layer.core} '${layer.mechanism}'`,
        );
      }
    };
    expectShape('W', W.shape, [layer.inputSize + layer.hiddenSize, cols]);
    expectShape('b', b.shape, [cols]);
    const params: LayerParams = {
      W: tfc.tensor2d(W.data, W.shape as [number, number]),
      b: tfc.tensor1d(b.data),
    };
    const offset = get('bOffset');
    if (offset !== undefined) expectShape('bOffset', offset.shape, [cols]);
    if (offset !== undefined) params.bOffset = tfc.tensor1d(offset.data);
    return params;
  });
}
