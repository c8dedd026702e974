import type * as tf from '@tensorflow/tfjs';
import type { ResolvedRmcConfig } from '@urgate/spec';
import { rmcParamLayout } from '@urgate/spec';
import type { RmcParams } from './types.js';

// Shape checks run before any tensor work, so that a mistake surfaces as one clear line
// instead of a broadcasting error deep inside a step.

function describe(shape: readonly (number | null)[]): string {
  return `[${shape.map((s) => (s === null ? '?' : String(s))).join(', ')}]`;
}

function isTensor(t: unknown): t is tf.Tensor {
  return t !== null && typeof t === 'object' && Array.isArray((t as tf.Tensor).shape);
}

export function expectShape(
  t: unknown,
  expected: (number | null)[],
  argName: string,
  meaning: string,
): void {
  if (!isTensor(t))
    throw new Error(
      `${argName}: expected a tensor of shape ${describe(expected)} (${meaning}), got ${t === undefined ? 'nothing' : typeof t}`,
    );
  const ok =
    t.shape.length === expected.length && expected.every((e, k) => e === null || e === t.shape[k]);
  if (!ok)
    throw new Error(
      `${argName}: expected shape ${describe(expected)} (${meaning}), got ${describe(t.shape)}`,
    );
}

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
