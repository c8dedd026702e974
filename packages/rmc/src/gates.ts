import * as tf from '@tensorflow/tfjs';
import { gate, splitBlocks } from '@urgate/cells';
import type { ResolvedRmcConfig } from '@urgate/contract';
import { gateBlocks } from '@urgate/contract';
import { linear } from './ops.js';
import type { RmcGates, RmcParams } from './types.js';

/**
 * Effective forget and input gates from the previous memory [B, N, memSize] and the
 * projected input x̂ [B, memSize]: pre = Linear(tanh(M_prev)) + Linear(x̂) + offset, the
 * input term broadcast over slots. The mechanism's gate math is cells' `gate`, applied to the
 * B·N slot rows as a batch.
 */
export function gatesFromProjected(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  projected: tf.Tensor2D,
  memory: tf.Tensor3D,
): RmcGates {
  const [batch, slots] = memory.shape;
  const { cols, blocks } = gateBlocks(cfg);
  const fromMemory = linear(tf.tanh(memory), params['gate.memory.W'], params['gate.memory.b']);
  const fromInput = linear(projected, params['gate.input.W'], params['gate.input.b']);
  const pre = fromMemory
    .add(fromInput.reshape([batch, 1, cols]))
    .add(params['gate.offset'])
    .reshape([batch * slots, cols]) as tf.Tensor2D;
  const { forget, input } = gate(cfg.mechanism, 'lstm', splitBlocks(pre, { blocks }), cfg.downsize);
  return {
    forget: forget.reshape([batch, slots, cfg.gateSize]),
    input: input.reshape([batch, slots, cfg.gateSize]),
  };
}
