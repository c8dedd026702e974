import {
  type CheckpointMeta,
  type CheckpointTensors,
  decodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '@urgate/contract';
import { arenaView, type ModelArenas } from '@urgate/kernels/native';

/**
 * Training-state checkpoints: model parameters (LAYOUT.md names, so the file also exports and
 * loads as a model), Adam's moments as `optimizer.m.<name>` / `optimizer.v.<name>`, and a
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
  /** The model's arenas: parameters and Adam moments by checkpoint name, in the arenas' order. */
  arenas: ModelArenas;
  /**
   * Fixed model tensors (the RMC's gate offsets), under their checkpoint names beside the
   * parameters: not trained, but the model needs them, so the file exports as a model.
   */
  constants?: CheckpointTensors;
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

const M_PREFIX = 'optimizer.m.';
const V_PREFIX = 'optimizer.v.';
const CARRY_PREFIX = 'carry.';

/**
 * Writes the state atomically (temporary file + rename): a failed write leaves the old file.
 * The arenas are written from where they are (no copy of the model's state in between): the
 * caller takes no step until the promise settles.
 */
export async function saveTrainingState(path: string, snapshot: TrainingSnapshot): Promise<void> {
  if (!Number.isInteger(snapshot?.training?.step) || snapshot.training.step < 0)
    throw new Error(
      `training.step: expected a non-negative integer, got ${JSON.stringify(snapshot?.training?.step)}`,
    );
  const { arenas } = snapshot;
  const tensors: CheckpointTensors = {};
  const view = (name: string, shape: number[], kind: 'params' | 'm' | 'v') => ({
    shape: [...shape],
    data: arenaView(arenas, name, kind),
  });
  for (const [name, t] of Object.entries(snapshot.constants ?? {}))
    tensors[name] = { shape: [...t.shape], data: t.data.slice() };
  for (const { name, shape } of arenas.tensors) tensors[name] = view(name, shape, 'params');
  for (const { name, shape } of arenas.tensors) {
    tensors[M_PREFIX + name] = view(name, shape, 'm');
    tensors[V_PREFIX + name] = view(name, shape, 'v');
  }
  const names = arenas.tensors.map((t) => t.name);
  for (const [name, t] of Object.entries(snapshot.carried ?? {})) tensors[CARRY_PREFIX + name] = t;
  await saveCheckpoint(path, tensors, {
    model: snapshot.model,
    training: { ...snapshot.training, optimizer: { steps: arenas.adamSteps, names } },
  });
}

export async function loadTrainingState(path: string): Promise<LoadedTrainingState> {
  return trainingStateOf(await loadCheckpoint(path), path);
}

/** A training state from a checkpoint's bytes (`path` names it in errors). */
export function decodeTrainingState(bytes: Uint8Array, path: string): LoadedTrainingState {
  return trainingStateOf(decodeCheckpoint(bytes, path), path);
}

function trainingStateOf(
  { tensors, meta }: { tensors: CheckpointTensors; meta: CheckpointMeta },
  path: string,
): LoadedTrainingState {
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
 * A model's parameter values as checkpoint tensors (the model file of every trainer): views of
 * the parameter arena (saveCheckpoint writes them from there; no step may run until it is done).
 */
export function paramTensors(model: ModelArenas): CheckpointTensors {
  const out: CheckpointTensors = {};
  for (const t of model.tensors)
    out[t.name] = { shape: [...t.shape], data: arenaView(model, t.name) };
  return out;
}

/** Puts a loaded state's parameters, Adam moments and step count into a model's arenas. */
export function restoreArenas(path: string, saved: LoadedTrainingState, model: ModelArenas): void {
  for (const { name, shape } of model.tensors) {
    const t = saved.params[name];
    if (!t || t.shape.length !== shape.length || t.shape.some((s, k) => s !== shape[k]))
      throw new Error(`${path}: tensor ${name} missing or not of shape [${shape}]`);
    arenaView(model, name).set(t.data);
    const m = saved.optimizer?.m[name];
    const v = saved.optimizer?.v[name];
    if (saved.optimizer && (!m || !v))
      throw new Error(`${path}: missing optimizer moments of ${name}`);
    if (m && v) {
      arenaView(model, name, 'm').set(m);
      arenaView(model, name, 'v').set(v);
    }
  }
  model.adamSteps = saved.optimizer?.steps ?? 0;
  model.paramsWritten?.();
}
