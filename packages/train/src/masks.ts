import * as tf from '@tensorflow/tfjs';
import { zoneoutMasks } from '@urgate/cells';

/** Inverted-dropout multipliers: 0 with probability `rate`, else 1 / (1 - rate). */
export function dropoutMask(rate: number, shape: number[], seed: number): tf.Tensor {
  if (!(rate >= 0 && rate < 1))
    throw new Error(`dropout: expected a rate in [0, 1), got ${JSON.stringify(rate)}`);
  return tf.tidy(() => tf.sub(1, zoneoutMasks(rate, shape, seed)).mul(1 / (1 - rate)));
}

export { zoneoutMasks };
