// The Learning-to-Execute encoder-decoder's tensors: one recurrent core (stacked LSTM/GRU layers
// or the RMC) and a linear head over the characters, in the one order the optimizer, the
// checkpoint and the native arena share.
import type { ResolvedLayerConfig } from './config.js';
import { stackTensorShapes } from './layout.js';
import type { TensorShape } from './lm.js';
import { L2E_TENSORS } from './names.js';
import { type ResolvedRmcConfig, rmcParamLayout } from './rmc.js';

/** What defines the function of an l2e model (LAYOUT.md "Models", kind "l2e"). */
export type L2eArchitecture = {
  vocabSize: number;
} & ({ layers: ResolvedLayerConfig[]; rmc: null } | { layers: []; rmc: ResolvedRmcConfig });

/** Width of the core's output: the last layer's hidden size, or memSlots · memSize. */
export function l2eCoreWidth(arch: L2eArchitecture): number {
  if (arch.rmc) return arch.rmc.memSlots * arch.rmc.memSize;
  return arch.layers[arch.layers.length - 1].hiddenSize;
}

/**
 * The model's trainable tensors in their one fixed order: the stack's per layer W, b (or the
 * RMC's trainable tensors in rmcParamLayout's order), then output.W [width, V], output.b [V].
 */
export function l2eTensorShapes(arch: L2eArchitecture): TensorShape[] {
  const core = arch.rmc
    ? rmcParamLayout(arch.rmc)
        .filter((spec) => spec.trainable)
        .map(({ name, shape }) => ({ name, shape: [...shape] }))
    : stackTensorShapes(arch.layers);
  return [
    ...core,
    { name: L2E_TENSORS.outputW, shape: [l2eCoreWidth(arch), arch.vocabSize] },
    { name: L2E_TENSORS.outputB, shape: [arch.vocabSize] },
  ];
}

/** Its untrained tensors (the RMC's gate offsets, re-created from the seed), in layout order. */
export function l2eConstantShapes(arch: L2eArchitecture): TensorShape[] {
  if (!arch.rmc) return [];
  return rmcParamLayout(arch.rmc)
    .filter((spec) => !spec.trainable)
    .map(({ name, shape }) => ({ name, shape: [...shape] }));
}
