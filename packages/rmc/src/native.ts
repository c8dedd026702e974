import type * as tf from '@tensorflow/tfjs';
import type { ResolvedRmcConfig } from '@urgate/contract';
import { type RmcKernelWeights, rmcKernelShape, runRmcFused } from '@urgate/kernels';
import type { RmcParams, RmcSequenceResult } from './types.js';

/** rmc's named parameters as the kernel's weights; call inside tf.tidy (the gate bias is a sum). */
function kernelWeights(cfg: ResolvedRmcConfig, params: RmcParams): RmcKernelWeights {
  const p = (name: string) => params[name];
  const block = (k: number) => {
    const b = (name: string) => p(`blocks.${k}.${name}`);
    return {
      qkvW: b('qkv.W'),
      qkvB: b('qkv.b'),
      qkvGamma: b('qkvNorm.gamma'),
      qkvBeta: b('qkvNorm.beta'),
      attentionGamma: b('attentionNorm.gamma'),
      attentionBeta: b('attentionNorm.beta'),
      mlpGamma: b('mlpNorm.gamma'),
      mlpBeta: b('mlpNorm.beta'),
    };
  };
  return {
    inputW: p('input.W'),
    inputB: p('input.b'),
    blocks: Array.from({ length: cfg.numBlocks }, (_, k) => block(k)),
    mlp: Array.from({ length: cfg.attentionMlpLayers }, (_, l) => ({
      W: p(`mlp.${l}.W`),
      b: p(`mlp.${l}.b`),
    })),
    gate:
      cfg.gateStyle === 'none'
        ? undefined
        : {
            memoryW: p('gate.memory.W'),
            inputW: p('gate.input.W'),
            bias: p('gate.memory.b').add(p('gate.input.b')).add(p('gate.offset')),
          },
  };
}

/** runRmc on validated inputs through the native kernels; the caller owns tidying. */
export function runRmcNative(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  xs: tf.Tensor3D,
  memory0: tf.Tensor3D,
): RmcSequenceResult {
  return runRmcFused(rmcKernelShape(cfg), kernelWeights(cfg, params), xs, memory0);
}
