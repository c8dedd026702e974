import * as tf from '@tensorflow/tfjs';
import { initLayerValues, type LayerConfig } from '@urgate/contract';
import type { LayerParams } from './types.js';

/** initLayerValues (@urgate/contract) as tensors. */
export function initLayerParams(cfg: LayerConfig, seed: number): LayerParams {
  const { rows, cols, W, b, bOffset } = initLayerValues(cfg, seed);
  const params: LayerParams = { W: tf.tensor2d(W, [rows, cols]), b: tf.tensor1d(b) };
  if (bOffset) params.bOffset = tf.tensor1d(bOffset);
  return params;
}
