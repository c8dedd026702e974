import * as tf from '@tensorflow/tfjs';
import { expectShape } from '@urgate/cells';
import { type ResolvedRmcConfig, type RmcConfig, resolveRmcConfig } from '@urgate/contract';
import { attendOverMemory } from './attention.js';
import { gatesFromProjected } from './gates.js';
import { runRmcNative } from './native.js';
import { linear } from './ops.js';
import type { RmcGates, RmcParams, RmcSequenceResult, RmcStepResult } from './types.js';
import { checkMemory, checkParams } from './validate.js';

function project(params: RmcParams, x: tf.Tensor2D): tf.Tensor2D {
  return linear(x, params['input.W'], params['input.b']) as tf.Tensor2D;
}

/** One step on validated inputs; the caller owns tidying. */
function stepValidated(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  x: tf.Tensor2D,
  memory: tf.Tensor3D,
): RmcStepResult {
  const [batch, slots, width] = memory.shape;
  const projected = project(params, x);
  const withInput = tf.concat([memory, projected.reshape([batch, 1, width])], 1) as tf.Tensor3D;
  const attended = attendOverMemory(cfg, params, withInput).slice([0, 0, 0], [batch, slots, width]);
  let next = attended;
  if (cfg.gateStyle !== 'none') {
    const { forget, input } = gatesFromProjected(cfg, params, projected, memory);
    next = input.mul(tf.tanh(attended)).add(forget.mul(memory));
  }
  return { output: next.reshape([batch, slots * width]), memory: next };
}

function checkStepInputs(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  x: unknown,
  memory: unknown,
): void {
  expectShape(x, [null, cfg.inputSize], 'x', 'batch × inputSize');
  checkMemory(cfg, memory, (x as tf.Tensor).shape[0]);
  checkParams(cfg, params);
}

/** One step of the core: x [B, inputSize], memory [B, memSlots, memSize]. */
export function rmcStep(
  cfg: RmcConfig,
  params: RmcParams,
  x: tf.Tensor2D,
  memory: tf.Tensor3D,
): RmcStepResult {
  const r = resolveRmcConfig(cfg);
  checkStepInputs(r, params, x, memory);
  return tf.tidy(() => stepValidated(r, params, x, memory));
}

/** The effective gates the step would apply to `memory`, each [B, memSlots, gateSize]. */
export function rmcGates(
  cfg: RmcConfig,
  params: RmcParams,
  x: tf.Tensor2D,
  memory: tf.Tensor3D,
): RmcGates {
  const r = resolveRmcConfig(cfg);
  if (r.gateStyle === 'none') throw new Error(`gateStyle: 'none' has no gates to compute`);
  checkStepInputs(r, params, x, memory);
  return tf.tidy(() => gatesFromProjected(r, params, project(params, x), memory));
}

function checkSequenceInputs(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  xs: tf.Tensor3D,
  memory0: tf.Tensor3D,
): void {
  expectShape(xs, [null, null, cfg.inputSize], 'xs', 'time × batch × inputSize');
  if (xs.shape[0] === 0) throw new Error('xs: expected at least one time step, got 0');
  checkMemory(cfg, memory0, xs.shape[1], 'memory0');
  checkParams(cfg, params);
}

/**
 * The recurrence over xs [T, B, inputSize] from memory0 [B, memSlots, memSize] on the run's
 * engine: `native`, @urgate/kernels' runRmcFused (one op, BPTT in one call; an error naming the
 * build step without the addon), or `reference`, the tfjs ops of runRmcReference.
 */
export function runRmc(
  cfg: RmcConfig,
  params: RmcParams,
  xs: tf.Tensor3D,
  memory0: tf.Tensor3D,
  engine: 'native' | 'reference',
): RmcSequenceResult {
  if (engine !== 'native' && engine !== 'reference')
    throw new Error(`engine: expected 'native' or 'reference', got ${JSON.stringify(engine)}`);
  const r = resolveRmcConfig(cfg);
  checkSequenceInputs(r, params, xs, memory0);
  if (engine === 'native') return tf.tidy(() => runRmcNative(r, params, xs, memory0));
  return tf.tidy(() => runValidated(r, params, xs, memory0));
}

/** runRmc on tfjs ops only: T steps of rmcStep (the reference the kernels are tested against). */
export function runRmcReference(
  cfg: RmcConfig,
  params: RmcParams,
  xs: tf.Tensor3D,
  memory0: tf.Tensor3D,
): RmcSequenceResult {
  const r = resolveRmcConfig(cfg);
  checkSequenceInputs(r, params, xs, memory0);
  return tf.tidy(() => runValidated(r, params, xs, memory0));
}

function runValidated(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  xs: tf.Tensor3D,
  memory0: tf.Tensor3D,
): RmcSequenceResult {
  let memory = memory0;
  const outputs: tf.Tensor2D[] = [];
  for (const x of tf.unstack(xs) as tf.Tensor2D[]) {
    const step = stepValidated(cfg, params, x, memory);
    outputs.push(step.output);
    memory = step.memory;
  }
  return { outputs: tf.stack(outputs) as tf.Tensor3D, memory };
}
