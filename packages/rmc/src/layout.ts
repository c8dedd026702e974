import type { BlockName } from '@urgate/spec';
import type { ResolvedRmcConfig } from './config.js';

/**
 * How a parameter starts: `linear` is Sonnet v1's Linear initialiser (truncated normal,
 * σ = 1/√fanIn), `gateOffset` the mechanism's fixed gate-bias offsets.
 */
export type ParamInit = 'linear' | 'zeros' | 'ones' | 'gateOffset';

export interface ParamSpec {
  name: string;
  shape: number[];
  trainable: boolean;
  init: ParamInit;
}

export interface GateBlock {
  name: BlockName;
  offset: number;
  width: number;
}

/**
 * Column blocks of the gate pre-activations, in Sonnet's order (input gate first, then
 * forget), each `gateSize` wide; 'UR-' puts its refine gate r in the input gate's place and
 * 'OM-' appends its master gates, `gateSize / downsize` wide.
 */
export function gateBlocks(cfg: ResolvedRmcConfig): { cols: number; blocks: GateBlock[] } {
  const g = cfg.gateSize;
  const widths: [BlockName, number][] =
    cfg.mechanism === 'UR-'
      ? [
          ['r', g],
          ['f', g],
        ]
      : cfg.mechanism === 'OM-'
        ? [
            ['i', g],
            ['f', g],
            ['mf', g / cfg.downsize],
            ['mi', g / cfg.downsize],
          ]
        : [
            ['i', g],
            ['f', g],
          ];
  const blocks: GateBlock[] = [];
  let offset = 0;
  for (const [name, width] of widths) {
    blocks.push({ name, offset, width });
    offset += width;
  }
  return { cols: offset, blocks };
}

/** Every parameter tensor of the core, in a fixed order (the order initialisation draws in). */
export function rmcParamLayout(cfg: ResolvedRmcConfig): ParamSpec[] {
  const D = cfg.memSize;
  const F = cfg.numHeads * (2 * cfg.keySize + cfg.headSize);
  const specs: ParamSpec[] = [];
  const weight = (name: string, rows: number, cols: number) =>
    specs.push({ name, shape: [rows, cols], trainable: true, init: 'linear' });
  const vector = (name: string, width: number, init: ParamInit, trainable = true) =>
    specs.push({ name, shape: [width], trainable, init });

  weight('input.W', cfg.inputSize, D);
  vector('input.b', D, 'zeros');
  for (let k = 0; k < cfg.numBlocks; k++) {
    weight(`blocks.${k}.qkv.W`, D, F);
    vector(`blocks.${k}.qkv.b`, F, 'zeros');
    vector(`blocks.${k}.qkvNorm.gamma`, F, 'ones');
    vector(`blocks.${k}.qkvNorm.beta`, F, 'zeros');
    vector(`blocks.${k}.attentionNorm.gamma`, D, 'ones');
    vector(`blocks.${k}.attentionNorm.beta`, D, 'zeros');
    vector(`blocks.${k}.mlpNorm.gamma`, D, 'ones');
    vector(`blocks.${k}.mlpNorm.beta`, D, 'zeros');
  }
  for (let l = 0; l < cfg.attentionMlpLayers; l++) {
    weight(`mlp.${l}.W`, D, D);
    vector(`mlp.${l}.b`, D, 'zeros');
  }
  if (cfg.gateStyle !== 'none') {
    const { cols } = gateBlocks(cfg);
    weight('gate.memory.W', D, cols);
    vector('gate.memory.b', cols, 'zeros');
    weight('gate.input.W', D, cols);
    vector('gate.input.b', cols, 'zeros');
    vector('gate.offset', cols, 'gateOffset', false);
  }
  return specs;
}
