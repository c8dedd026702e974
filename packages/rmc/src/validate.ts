import { expectShape } from '@urgate/cells';
import type { ResolvedRmcConfig } from '@urgate/contract';
import { rmcParamLayout } from '@urgate/contract';
import type { RmcParams } from './types.js';

// Shape checks run before any tensor work, so that a mistake surfaces as one clear line
// instead of a broadcasting error deep inside a step.

export function checkParams(cfg: ResolvedRmcConfig, params: RmcParams): void {
  if (params === null || typeof params !== 'object')
    throw new Error(`params: expected an object of named tensors, got ${JSON.stringify(params)}`);
  const specs = rmcParamLayout(cfg);
  for (const spec of specs)
    expectShape(params[spec.name], spec.shape, `params['${spec.name}']`, 'see rmc README');
  const known = new Set(specs.map((s) => s.name));
  const extra = Object.keys(params).find((name) => !known.has(name));
  if (extra !== undefined)
    throw new Error(
      `params['${extra}']: not a parameter of this config (gateStyle '${cfg.gateStyle}', numBlocks ${cfg.numBlocks}, attentionMlpLayers ${cfg.attentionMlpLayers})`,
    );
}

export function checkMemory(
  cfg: ResolvedRmcConfig,
  memory: unknown,
  batch: number | null,
  argName = 'memory',
): void {
  expectShape(memory, [batch, cfg.memSlots, cfg.memSize], argName, 'batch × memSlots × memSize');
}
