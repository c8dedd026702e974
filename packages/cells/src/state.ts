import * as tf from '@tensorflow/tfjs';
import { type LayerConfig, resolveLayerConfig } from '@urgate/contract';
import { SeededRandom } from '@urgate/random';
import type { State } from './types.js';

export function zeroState(cfg: LayerConfig, batch: number): State {
  const r = resolveLayerConfig(cfg);
  if (!Number.isInteger(batch) || batch <= 0)
    throw new Error(`batch: expected a positive integer, got ${JSON.stringify(batch)}`);
  const h = tf.zeros([batch, r.hiddenSize]) as tf.Tensor2D;
  return r.core === 'lstm' ? { h, c: tf.zeros([batch, r.hiddenSize]) as tf.Tensor2D } : { h };
}

/** Zoneout keep masks: each entry is 1 (keep the previous value) with probability `rate`, else 0. */
export function zoneoutMasks(rate: number, shape: number[], seed: number): tf.Tensor {
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))
    throw new Error(`rate: expected a zoneout probability in [0, 1], got ${JSON.stringify(rate)}`);
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new Error(`shape: expected an array of positive integers, got ${JSON.stringify(shape)}`);
  }
  const rng = new SeededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let k = 0; k < size; k++) data[k] = rng.next() < rate ? 1 : 0;
  return tf.tensor(data, shape);
}
