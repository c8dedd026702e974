import { type LayerConfig, type ResolvedLayerConfig, resolveLayerConfig } from './config.js';
import type { TensorShape } from './lm.js';
import { hasMasterGates, hasRefineGate } from './mechanisms.js';
import { layerTensorName } from './names.js';

export type BlockName = 'f' | 'i' | 'r' | 'u' | 'o' | 's' | 'mf' | 'mi';
export interface Block {
  name: BlockName;
  offset: number;
  width: number;
}
export interface Layout {
  cols: number;
  blocks: Block[];
}

/** Column blocks of W and b, in the order of LAYOUT.md "Block order". */
export function blockNames(cfg: Pick<LayerConfig, 'core' | 'mechanism'>): BlockName[] {
  const refine = hasRefineGate(cfg.mechanism);
  const masters: BlockName[] = hasMasterGates(cfg.mechanism) ? ['mf', 'mi'] : [];
  if (cfg.core === 'lstm') return ['f', refine ? 'r' : 'i', 'u', 'o', ...masters];
  return refine ? ['f', 'r', 's', 'u'] : ['f', 's', 'u', ...masters];
}

export function layerLayout(cfg: LayerConfig): Layout {
  const r = resolveLayerConfig(cfg);
  const masterWidth = r.hiddenSize / r.downsize;
  const blocks: Block[] = [];
  let offset = 0;
  for (const name of blockNames(r)) {
    const width = name === 'mf' || name === 'mi' ? masterWidth : r.hiddenSize;
    blocks.push({ name, offset, width });
    offset += width;
  }
  return { cols: offset, blocks };
}

/** Number of trainable parameters of one layer (W and b). */
export function parameterCount(cfg: LayerConfig): number {
  const r = resolveLayerConfig(cfg);
  const { cols } = layerLayout(r);
  return (r.inputSize + r.hiddenSize + 1) * cols;
}

/** A stack's tensors in their one order: per layer W [inputSize + hiddenSize, cols], b [cols]. */
export function stackTensorShapes(layers: readonly ResolvedLayerConfig[]): TensorShape[] {
  return layers.flatMap((cfg, l) => {
    const { cols } = layerLayout(cfg);
    return [
      { name: layerTensorName(l, 'W'), shape: [cfg.inputSize + cfg.hiddenSize, cols] },
      { name: layerTensorName(l, 'b'), shape: [cols] },
    ];
  });
}
