import * as tf from '@tensorflow/tfjs';
import {
  initialMemoryValues,
  initRmcValues,
  type RmcConfig,
  resolveRmcConfig,
} from '@urgate/contract';
import type { RmcParams } from './types.js';

/** All parameters of the core (README "Parameters"), seeded and backend-independent. */
export function initRmcParams(cfg: RmcConfig, seed: number): RmcParams {
  return Object.fromEntries(
    Object.entries(initRmcValues(resolveRmcConfig(cfg), seed)).map(([name, t]) => [
      name,
      tf.tensor(t.data, t.shape),
    ]),
  );
}

/** Identity per batch element (N × N), zero-padded or cut to memSize columns: [B, N, memSize]. */
export function initialMemory(cfg: RmcConfig, batch: number): tf.Tensor3D {
  const r = resolveRmcConfig(cfg);
  return tf.tensor3d(initialMemoryValues(r, batch), [batch, r.memSlots, r.memSize]);
}
