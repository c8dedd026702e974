import * as tf from '@tensorflow/tfjs';
import type { RmcConfig } from '@urgate/contract';
import { nativeAvailable } from '@urgate/kernels';
import type { RmcParams } from '../src/index.js';
import type { Mat, RefConfig, RefParams } from './reference64.js';

export const toTensors = (p: RefParams): RmcParams =>
  Object.fromEntries(
    Object.entries(p).map(([name, f]) => [name, tf.tensor(Float32Array.from(f.data), f.shape)]),
  );

/** The engines runRmc can run here: the reference always, native where the addon is built. */
export const ENGINES: readonly ('native' | 'reference')[] = nativeAvailable
  ? ['native', 'reference']
  : ['reference'];

/** The same config in both vocabularies; `ref` spells out every default. */
export function configPair(overrides: Partial<RefConfig> = {}): { cfg: RmcConfig; ref: RefConfig } {
  const ref: RefConfig = {
    inputSize: 3,
    memSlots: 3,
    headSize: 2,
    numHeads: 2,
    numBlocks: 2,
    keySize: 3,
    mlpLayers: 2,
    gateStyle: 'unit',
    mechanism: '-',
    downsize: 2,
    ...overrides,
  };
  const cfg: RmcConfig = {
    inputSize: ref.inputSize,
    memSlots: ref.memSlots,
    headSize: ref.headSize,
    numHeads: ref.numHeads,
    numBlocks: ref.numBlocks,
    keySize: ref.keySize,
    attentionMlpLayers: ref.mlpLayers,
    gateStyle: ref.gateStyle,
    mechanism: ref.mechanism,
    downsize: ref.downsize,
  };
  return { cfg, ref };
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: number[],
  tol: number,
  what: string,
) {
  if (actual.length !== expected.length)
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  for (let k = 0; k < expected.length; k++) {
    const err = Math.abs(actual[k] - expected[k]);
    if (!(err <= tol * (1 + Math.abs(expected[k]))))
      throw new Error(`${what}[${k}]: got ${actual[k]}, expected ${expected[k]}`);
  }
}

export const flat3 = (m: Mat[]): number[] => m.flat(2);
