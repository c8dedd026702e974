import type * as tf from '@tensorflow/tfjs';
import type { ResolvedLayerConfig } from '@urgate/contract';
import { layerLayout } from '@urgate/contract';
import type { LayerParams, SequenceExtras, State, StepExtras } from './types.js';

// Shape checks run before any tensor work so that a mistake surfaces as one clear line
// instead of a broadcasting error deep inside a step.

function describe(shape: readonly (number | null)[]): string {
  return `[${shape.map((s) => (s === null ? '?' : String(s))).join(', ')}]`;
}

function isTensor(t: unknown): t is tf.Tensor {
  return t !== null && typeof t === 'object' && Array.isArray((t as tf.Tensor).shape);
}

/**
 * One clear line when `t` is not a tensor of the expected shape (null: any size on that axis):
 * `<argName>: expected shape [B, ?] (<meaning>), got [..]`. Shared with @urgate/rmc.
 */
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

function checkParams(cfg: ResolvedLayerConfig, params: LayerParams, argName = 'params'): void {
  if (params === null || typeof params !== 'object')
    throw new Error(`${argName}: expected {W, b, bOffset?}, got ${JSON.stringify(params)}`);
  const { cols } = layerLayout(cfg);
  const rows = cfg.inputSize + cfg.hiddenSize;
  const mech = `${cfg.core} '${cfg.mechanism}', inputSize ${cfg.inputSize}, hiddenSize ${cfg.hiddenSize}`;
  expectShape(
    params.W,
    [rows, cols],
    `${argName}.W`,
    `inputSize + hiddenSize rows, ${cols} columns for ${mech}`,
  );
  expectShape(params.b, [cols], `${argName}.b`, `one bias per column for ${mech}`);
  if (params.bOffset !== undefined)
    expectShape(params.bOffset, [cols], `${argName}.bOffset`, `one offset per column for ${mech}`);
}

function checkState(
  cfg: ResolvedLayerConfig,
  state: State,
  batch: number,
  argName = 'state',
): void {
  if (state === null || typeof state !== 'object')
    throw new Error(
      `${argName}: expected {h${cfg.core === 'lstm' ? ', c' : ''}}, got ${JSON.stringify(state)}`,
    );
  expectShape(state.h, [batch, cfg.hiddenSize], `${argName}.h`, 'batch × hiddenSize');
  if (cfg.core === 'lstm')
    expectShape(
      state.c,
      [batch, cfg.hiddenSize],
      `${argName}.c`,
      'batch × hiddenSize, the LSTM cell state',
    );
  else if (state.c !== undefined)
    throw new Error(`${argName}.c: the GRU has no cell state; pass {h} only`);
}

export function checkStep(
  cfg: ResolvedLayerConfig,
  params: LayerParams,
  x: tf.Tensor2D,
  state: State,
  extras?: StepExtras,
): void {
  checkParams(cfg, params);
  expectShape(x, [null, cfg.inputSize], 'x', 'batch × inputSize');
  const batch = x.shape[0];
  checkState(cfg, state, batch);
  if (extras === undefined) return;
  if (extras.reset !== undefined)
    expectShape(extras.reset, [batch], 'extras.reset', 'one flag per batch row');
  if (extras.zoneoutC !== undefined) {
    if (cfg.core === 'gru')
      throw new Error('extras.zoneoutC: the GRU has no cell state; use zoneoutH only');
    expectShape(
      extras.zoneoutC,
      [batch, cfg.hiddenSize],
      'extras.zoneoutC',
      'batch × hiddenSize keep mask',
    );
  }
  if (extras.zoneoutH !== undefined)
    expectShape(
      extras.zoneoutH,
      [batch, cfg.hiddenSize],
      'extras.zoneoutH',
      'batch × hiddenSize keep mask',
    );
}

export function checkSequence(
  cfg: ResolvedLayerConfig,
  params: LayerParams,
  xs: tf.Tensor3D,
  state0: State,
  extras?: SequenceExtras,
): void {
  checkParams(cfg, params);
  expectShape(xs, [null, null, cfg.inputSize], 'xs', 'time × batch × inputSize');
  const [steps, batch] = xs.shape;
  if (steps === 0) throw new Error('xs: expected at least one time step, got T = 0');
  checkState(cfg, state0, batch, 'state0');
  if (extras === undefined) return;
  if (extras.reset !== undefined)
    expectShape(extras.reset, [steps, batch], 'extras.reset', 'time × batch flags');
  if (extras.zoneoutC !== undefined) {
    if (cfg.core === 'gru')
      throw new Error('extras.zoneoutC: the GRU has no cell state; use zoneoutH only');
    expectShape(
      extras.zoneoutC,
      [steps, batch, cfg.hiddenSize],
      'extras.zoneoutC',
      'time × batch × hiddenSize keep masks',
    );
  }
  if (extras.zoneoutH !== undefined) {
    expectShape(
      extras.zoneoutH,
      [steps, batch, cfg.hiddenSize],
      'extras.zoneoutH',
      'time × batch × hiddenSize keep masks',
    );
  }
}
