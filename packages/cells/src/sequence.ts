import * as tf from '@tensorflow/tfjs';
import { type LayerConfig, type ResolvedLayerConfig, resolveLayerConfig } from '@urgate/contract';
import { prepareParams, stepPrepared } from './step.js';
import type { LayerParams, SequenceExtras, SequenceResult, State } from './types.js';
import { checkSequence } from './validate.js';

/**
 * One gated layer over a whole sequence: runLayerReference here and @urgate/kernels'
 * runLayerFused take the same arguments and compute the same thing.
 */
export type SequenceRunner<Config = LayerConfig> = (
  cfg: Config,
  params: LayerParams,
  xs: tf.Tensor3D,
  state0: State,
  extras?: SequenceExtras,
) => SequenceResult;

/** The same call on a config already resolved and checked (runLayerWith's kernel). */
export type SequenceKernel = SequenceRunner<ResolvedLayerConfig>;

/** The pure-tfjs recurrence over T steps: the ground truth every kernel is tested against. */
export const runLayerReference: SequenceRunner = (cfg, params, xs, state0, extras) => {
  const r = resolveLayerConfig(cfg);
  checkSequence(r, params, xs, state0, extras);
  const [outputs, h, c] = tf.tidy(() => {
    const prepared = prepareParams(r, params);
    const inputs = tf.unstack(xs) as tf.Tensor2D[];
    const resets =
      extras?.reset === undefined ? undefined : (tf.unstack(extras.reset) as tf.Tensor1D[]);
    const keepC =
      extras?.zoneoutC === undefined ? undefined : (tf.unstack(extras.zoneoutC) as tf.Tensor2D[]);
    const keepH =
      extras?.zoneoutH === undefined ? undefined : (tf.unstack(extras.zoneoutH) as tf.Tensor2D[]);
    let state: State = state0;
    const outputs: tf.Tensor2D[] = [];
    inputs.forEach((x, t) => {
      state = stepPrepared(r, prepared, x, state, {
        reset: resets?.[t],
        zoneoutC: keepC?.[t],
        zoneoutH: keepH?.[t],
      });
      outputs.push(state.h);
    });
    const last = state as State;
    const kept: tf.Tensor[] = [tf.stack(outputs), last.h];
    if (last.c !== undefined) kept.push(last.c);
    return kept;
  }) as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D | undefined];
  return { outputs, state: c === undefined ? { h } : { h, c } };
};

/**
 * Runs a layer over a sequence with `kernel` (e.g. @urgate/kernels' sequenceKernel(engine)), or
 * the reference when it is null: the caller says which, there is no process-wide choice.
 */
export function runLayerWith(
  kernel: SequenceKernel | null,
  cfg: LayerConfig,
  params: LayerParams,
  xs: tf.Tensor3D,
  state0: State,
  extras?: SequenceExtras,
): SequenceResult {
  if (kernel === null) return runLayerReference(cfg, params, xs, state0, extras);
  const r = resolveLayerConfig(cfg);
  checkSequence(r, params, xs, state0, extras);
  return kernel(r, params, xs, state0, extras);
}
