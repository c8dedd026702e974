// The Relational Memory Core's native kernels (csrc/rmc.cc, napi/rmc.cc) without tfjs: the
// kernel's shape in @urgate/rmc's vocabulary, taken from the contract's resolved config, and the
// functions the addon adds. The tfjs op (rmc-fused.ts) and the native l2e model both call them.
import type { GateStyle, ResolvedRmcConfig, RmcMechanism } from '@urgate/contract';
import type { NativeTape } from './native.js';

/** Sizes and choices of one RMC, in @urgate/rmc's vocabulary (its resolved config). */
export interface RmcKernelShape {
  inputSize: number;
  memSlots: number;
  headSize: number;
  numHeads: number;
  keySize: number;
  numBlocks: number;
  /** Linear layers of the shared attention MLP (rmc's attentionMlpLayers). */
  mlpLayers: number;
  gateStyle: GateStyle;
  mechanism: RmcMechanism;
  /** Master downsize C ('OM-'; ignored otherwise). */
  downsize: number;
}

/** The kernel shape of a resolved RMC config. */
export function rmcKernelShape(cfg: ResolvedRmcConfig): RmcKernelShape {
  return {
    inputSize: cfg.inputSize,
    memSlots: cfg.memSlots,
    headSize: cfg.headSize,
    numHeads: cfg.numHeads,
    keySize: cfg.keySize,
    numBlocks: cfg.numBlocks,
    mlpLayers: cfg.attentionMlpLayers,
    gateStyle: cfg.gateStyle,
    mechanism: cfg.mechanism,
    downsize: cfg.downsize,
  };
}

/** The spec napi/rmc.cc takes: the kernel spec and the sequence sizes. */
export interface RmcNativeShape extends RmcKernelShape {
  batch: number;
  steps: number;
}

/** What napi/rmc.cc adds to the addon (weights in csrc/rmc.h's flat order). */
export interface RmcAddon {
  rmcForward(
    spec: RmcNativeShape,
    weights: Float32Array[],
    xs: Float32Array,
    memory0: Float32Array,
  ): { outputs: Float32Array; tape: NativeTape };
  rmcReleaseTape(tape: NativeTape): void;
  rmcBackward(
    tape: NativeTape,
    weights: Float32Array[],
    xs: Float32Array,
    dOutputs: Float32Array,
  ): { dxs: Float32Array; dmemory0: Float32Array; grads: Float32Array[] };
}

/** Gate columns G: 2·g, plus 2·g/C masters for 'OM-' (g = memSize, 1 or 0 by gate style). */
export function rmcGateColumns(spec: RmcKernelShape): number {
  const D = spec.headSize * spec.numHeads;
  const g = spec.gateStyle === 'unit' ? D : spec.gateStyle === 'memory' ? 1 : 0;
  return 2 * g + (spec.mechanism === 'OM-' ? (2 * g) / spec.downsize : 0);
}
