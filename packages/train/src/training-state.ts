import * as tf from '@tensorflow/tfjs';
import type { FusedAdam } from '@urgate/kernels';
import { type CheckpointTensors, loadCheckpoint, saveCheckpoint } from '@urgate/spec';

/**
 * Training-state checkpoints: model parameters (LAYOUT.md names, so the file also exports and
 * loads as a model), FusedAdam's moments as `optimizer.m.<name>` / `optimizer.v.<name>`, and a
 * `training` metadata section with the step, data position and run config, and whatever else
 * the next step depends on as `carry.<name>` tensors (the LM's recurrent state between
 * windows). Randomness in the trainers is a pure function of (seed, step), so the step and data
 * position are the RNG state.
 */
export interface TrainingProgress {
  /** Optimizer steps taken. */
  step: number;
  [key: string]: unknown;
}

export interface TrainingSnapshot {
  /** LAYOUT.md `model` section: kind, core, mechanism, numLayers, hiddenSize, ... */
  model: Record<string, unknown>;
  /** Parameters by checkpoint name, in the optimizer's variable order. */
  params: Record<string, tf.Tensor>;
  /**
   * Fixed model tensors (the RMC's gate offsets), under their checkpoint names beside the
   * parameters: not trained, but the model needs them, so the file exports as a model.
   */
  constants?: Record<string, tf.Tensor>;
  optimizer?: FusedAdam;
  /** Tensors carried from one step to the next (not parameters), by name. */
  carried?: CheckpointTensors;
  training: TrainingProgress;
}

export interface OptimizerMoments {
  steps: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export interface LoadedTrainingState {
  model: Record<string, unknown>;
  training: TrainingProgress;
  /** Model tensors: parameters and constants (optimizer and carried tensors removed). */
  params: CheckpointTensors;
  optimizer?: OptimizerMoments;
  /** The snapshot's `carried` tensors (empty when it had none). */
  carried: CheckpointTensors;
}

// FusedAdam keeps its moments and step count private; an exact resume needs them. The field
// names are pinned by test/training-state.test.ts.
interface AdamInternals {
  m: Float32Array[];
  v: Float32Array[];
  steps: number;
}
function internals(optimizer: FusedAdam): AdamInternals {
  const o = optimizer as unknown as AdamInternals;
  if (!Array.isArray(o.m) || !Array.isArray(o.v) || typeof o.steps !== 'number')
    throw new Error('optimizer: FusedAdam no longer exposes m, v, steps; update training-state.ts');
  return o;
}

const M_PREFIX = 'optimizer.m.';
const V_PREFIX = 'optimizer.v.';
const CARRY_PREFIX = 'carry.';

/** Writes the state atomically (temporary file + rename): a failed write leaves the old file. */
export async function saveTrainingState(path: string, snapshot: TrainingSnapshot): Promise<void> {
  if (!Number.isInteger(snapshot?.training?.step) || snapshot.training.step < 0)
    throw new Error(
      `training.step: expected a non-negative integer, got ${JSON.stringify(snapshot?.training?.step)}`,
    );
  const names = Object.keys(snapshot.params);
  const tensors: CheckpointTensors = {};
  for (const [name, t] of Object.entries({ ...snapshot.constants, ...snapshot.params }))
    tensors[name] = { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
  let optimizerMeta: { steps: number; names: string[] } | undefined;
  if (snapshot.optimizer) {
    const adam = internals(snapshot.optimizer);
    if (adam.m.length !== names.length)
      throw new Error(
        `optimizer: holds ${adam.m.length} variables but params names ${names.length}`,
      );
    names.forEach((name, k) => {
      const shape = [...snapshot.params[name].shape];
      if (adam.m[k].length !== snapshot.params[name].size)
        throw new Error(`optimizer: variable ${k} does not match params.${name} in size`);
      tensors[M_PREFIX + name] = { shape, data: Float32Array.from(adam.m[k]) };
      tensors[V_PREFIX + name] = { shape, data: Float32Array.from(adam.v[k]) };
    });
    optimizerMeta = { steps: adam.steps, names };
  }
  for (const [name, t] of Object.entries(snapshot.carried ?? {})) tensors[CARRY_PREFIX + name] = t;
  await saveCheckpoint(path, tensors, {
    model: snapshot.model,
    training: { ...snapshot.training, ...(optimizerMeta ? { optimizer: optimizerMeta } : {}) },
  });
}

export async function loadTrainingState(path: string): Promise<LoadedTrainingState> {
  const { tensors, meta } = await loadCheckpoint(path);
  const training = meta.training as TrainingProgress | undefined;
  if (!training || !Number.isInteger(training.step))
    throw new Error(`checkpoint ${path}: no training section with a step (not a training state)`);
  const params: CheckpointTensors = {};
  const carried: CheckpointTensors = {};
  for (const [name, t] of Object.entries(tensors))
    if (name.startsWith(CARRY_PREFIX)) carried[name.slice(CARRY_PREFIX.length)] = t;
    else if (!name.startsWith(M_PREFIX) && !name.startsWith(V_PREFIX)) params[name] = t;
  const { optimizer: optimizerMeta, ...progress } = training as TrainingProgress & {
    optimizer?: { steps: number; names: string[] };
  };
  let optimizer: OptimizerMoments | undefined;
  if (optimizerMeta) {
    optimizer = { steps: optimizerMeta.steps, m: {}, v: {} };
    for (const name of optimizerMeta.names) {
      const m = tensors[M_PREFIX + name];
      const v = tensors[V_PREFIX + name];
      if (!m || !v) throw new Error(`checkpoint ${path}: missing optimizer moments of ${name}`);
      optimizer.m[name] = m.data;
      optimizer.v[name] = v.data;
    }
  }
  return { model: meta.model, training: progress as TrainingProgress, params, optimizer, carried };
}

/**
 * Puts checkpoint tensors into the model's variables, by name: every variable must find a
 * tensor of its shape (`<source>: tensor <name> missing or not of shape [..]` otherwise).
 */
export function assignTensors(
  params: Record<string, tf.Variable>,
  tensors: CheckpointTensors,
  source: string,
): void {
  for (const [name, v] of Object.entries(params)) {
    const t = tensors[name];
    if (!t || t.shape.length !== v.shape.length || t.shape.some((s, k) => s !== v.shape[k]))
      throw new Error(`${source}: tensor ${name} missing or not of shape [${v.shape}]`);
    v.assign(tf.tensor(t.data, v.shape));
  }
}

/** Puts saved moments back into an optimizer built over the variables named `names`, in order. */
export function restoreOptimizer(
  optimizer: FusedAdam,
  names: string[],
  moments: OptimizerMoments,
): void {
  const adam = internals(optimizer);
  if (adam.m.length !== names.length)
    throw new Error(`optimizer: holds ${adam.m.length} variables, names lists ${names.length}`);
  names.forEach((name, k) => {
    const m = moments.m[name];
    const v = moments.v[name];
    if (!m || !v || m.length !== adam.m[k].length)
      throw new Error(`optimizer moments: ${name} missing or of the wrong size`);
    adam.m[k].set(m);
    adam.v[k].set(v);
  });
  adam.steps = moments.steps;
}
