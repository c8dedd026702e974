import {
  type Core,
  type Mechanism,
  parseCore,
  parseMechanism,
  resolveLayerConfig,
} from '@urgate/contract';
import { FORGETTING_SETTINGS, SYNTHETIC_PROTOCOL } from '@urgate/tasks';
import { type Engine, parseEngine } from '../engine.js';

export const TASK_NAMES = [
  'copy',
  'adding',
  'forgetting',
  'smnist',
  'pmnist',
  'sfmnist',
  'pfmnist',
  'scifar',
  'pcifar',
] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export type PixelTask = Exclude<TaskName, 'copy' | 'adding' | 'forgetting'>;
export const PIXEL_TASKS: Record<
  PixelTask,
  { dataset: 'mnist' | 'fashion-mnist' | 'cifar10'; order: 'sequential' | 'permuted' }
> = {
  smnist: { dataset: 'mnist', order: 'sequential' },
  pmnist: { dataset: 'mnist', order: 'permuted' },
  sfmnist: { dataset: 'fashion-mnist', order: 'sequential' },
  pfmnist: { dataset: 'fashion-mnist', order: 'permuted' },
  scifar: { dataset: 'cifar10', order: 'sequential' },
  pcifar: { dataset: 'cifar10', order: 'permuted' },
};

export function isPixelTask(task: TaskName): task is PixelTask {
  return task in PIXEL_TASKS;
}

/** Paper zoneout rates (appendix D.2) when zoneout is on: LSTM cell 0.5 / hidden 0.05, GRU hidden 0.1. */
export function zoneoutRates(core: Core, enabled: boolean): { c: number; h: number } | null {
  if (!enabled) return null;
  return core === 'lstm' ? { c: 0.5, h: 0.05 } : { c: 0, h: 0.1 };
}
/** Dropout on the classifier's hidden layer, used together with zoneout. */
export const HEAD_DROPOUT = 0.5;
export const HEAD_HIDDEN = 256;

export interface TaskRunConfig {
  task: TaskName;
  core: Core;
  mechanism: Mechanism;
  hiddenSize: number;
  numLayers: number;
  /** Copy delay N / adding length N (synthetic tasks). */
  length: number;
  /** Optimizer steps of the whole run (pixel tasks: derived from epochs when given). */
  steps: number;
  /** Pixel tasks only: epochs, or null when `steps` was given. */
  epochs: number | null;
  batchSize: number;
  lr: number;
  /** Global gradient-norm clip (<= 0: none). */
  clip: number;
  seed: number;
  zoneout: boolean;
  /** Pixel tasks: directory of the dataset files (fashion-mnist has a system default). */
  dataDir: string | null;
  /** Evaluate every this many steps (and at the end). */
  evalEvery: number;
  /** Synthetic tasks: held-out batches per evaluation; pixel tasks: validation images per evaluation (0 = all). */
  evalSize: number;
  /** Save a training-state checkpoint every this many steps (and at the end). */
  checkpointEvery: number;
  /** Every gate bias set to this value at init (the forgetting task's extreme setting), or null. */
  gateBias: number | null;
  /** Master-gate downsize C of OM-/UM- (null: the cells' default, 16). */
  downsize: number | null;
  /** Chrono horizon Tmax of C- (null: the hidden size; the paper uses the task's delay). */
  tMax: number | null;
  /** Which implementation computes the model (engine.ts); a resumed run may change it. */
  engine: Engine;
}

const SYNTHETIC_DEFAULT_LENGTH = { copy: 100, adding: 200, forgetting: FORGETTING_SETTINGS.length };

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
    throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new Error(`${name}: expected a positive number, got ${JSON.stringify(v)}`);
  return v;
}

export function parseTask(name: string): TaskName {
  const t = typeof name === 'string' ? name.trim().toLowerCase() : name;
  if ((TASK_NAMES as readonly string[]).includes(t)) return t as TaskName;
  throw new Error(
    `task: unknown task ${JSON.stringify(name)}; expected one of ${TASK_NAMES.join(', ')}`,
  );
}

export type TaskRunInput = Partial<
  Omit<TaskRunConfig, 'task' | 'core' | 'mechanism' | 'engine'>
> & {
  task: string;
  core?: string;
  mechanism?: string;
  engine?: string;
};

/** Fills defaults (paper protocol where it has one) and validates; throws one line per problem. */
export function resolveTaskRunConfig(input: TaskRunInput): TaskRunConfig {
  const task = parseTask(input.task);
  const core = parseCore(input.core ?? 'lstm');
  const mechanism = parseMechanism(input.mechanism ?? 'UR-');
  const forgetting = task === 'forgetting';
  const pixel = isPixelTask(task);
  const hiddenSize = positiveInt(
    'hidden-size',
    input.hiddenSize ?? (forgetting ? FORGETTING_SETTINGS.hiddenSize : pixel ? 128 : 128),
  );
  if (hiddenSize < 2) throw new Error('hidden-size: expected at least 2 units');
  const numLayers = positiveInt('layers', input.numLayers ?? 1);
  let length = 0;
  if (!pixel) {
    const fallback = SYNTHETIC_DEFAULT_LENGTH[task as keyof typeof SYNTHETIC_DEFAULT_LENGTH];
    length = input.length ?? fallback;
    if (forgetting && length !== FORGETTING_SETTINGS.length)
      throw new Error(`length: the forgetting task has length ${FORGETTING_SETTINGS.length}`);
    if (!Number.isSafeInteger(length) || length < (task === 'copy' ? 1 : 2))
      throw new Error(
        `length: expected an integer >= ${task === 'copy' ? 1 : 2}, got ${JSON.stringify(length)}`,
      );
  } else if (input.length !== undefined) {
    throw new Error(`length: pixel tasks have a fixed length (the image size); drop --length`);
  }
  if (!pixel && input.epochs != null)
    throw new Error('epochs: synthetic tasks draw fresh batches every step; use --steps');
  if (input.steps != null && input.epochs != null)
    throw new Error('steps/epochs: give one of --steps and --epochs, not both');
  const batchSize = positiveInt('batch-size', input.batchSize ?? (pixel ? 50 : 64));
  const epochs = pixel && input.epochs != null ? positiveNumber('epochs', input.epochs) : null;
  const steps =
    epochs !== null
      ? 0 // filled in by the trainer from the training-set size
      : positiveInt(
          'steps',
          input.steps ?? (forgetting ? FORGETTING_SETTINGS.iterations : pixel ? 1000 : 2000),
        );
  const lr = positiveNumber(
    'lr',
    input.lr ?? (forgetting ? FORGETTING_SETTINGS.learningRate : SYNTHETIC_PROTOCOL.learningRate),
  );
  const clip = input.clip ?? SYNTHETIC_PROTOCOL.clipNorm;
  if (typeof clip !== 'number' || !Number.isFinite(clip) || clip < 0)
    throw new Error(
      `clip: expected a non-negative number (0 = no clipping), got ${JSON.stringify(clip)}`,
    );
  const seed = input.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`seed: expected a non-negative integer, got ${JSON.stringify(seed)}`);
  const zoneout = input.zoneout ?? false;
  if (zoneout && !pixel)
    throw new Error('zoneout: only the pixel classification tasks use zoneout (as in the paper)');
  const gateBias = input.gateBias ?? (forgetting ? FORGETTING_SETTINGS.gateBias : null);
  if (gateBias !== null && !Number.isFinite(gateBias))
    throw new Error(`gate-bias: expected a number, got ${JSON.stringify(gateBias)}`);
  if (pixel && PIXEL_TASKS[task].dataset !== 'fashion-mnist' && !input.dataDir)
    throw new Error(
      `data-dir: ${task} needs --data-dir with the ${PIXEL_TASKS[task].dataset} files (not available offline)`,
    );
  const evalEvery = positiveInt('eval-every', input.evalEvery ?? (pixel ? 200 : 100));
  const evalSize = input.evalSize ?? (pixel ? 1000 : 4);
  if (!Number.isSafeInteger(evalSize) || evalSize < 0 || (!pixel && evalSize === 0))
    throw new Error(
      `eval-size: expected a ${pixel ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(evalSize)}`,
    );
  const checkpointEvery = positiveInt('checkpoint-every', input.checkpointEvery ?? 500);
  const downsize = input.downsize == null ? null : positiveInt('downsize', input.downsize);
  const tMax = input.tMax == null ? null : positiveNumber('t-max', input.tMax);
  const engine = parseEngine(input.engine ?? 'native');
  // The layer settings (OM-/UM- master gates, chrono Tmax) are checked here, before any work, so
  // that a sweep refuses a bad one in its plan instead of in every run (the input size does not
  // enter these checks).
  resolveLayerConfig({
    core,
    mechanism,
    inputSize: 1,
    hiddenSize,
    ...(downsize !== null ? { downsize } : {}),
    ...(tMax !== null ? { tMax } : {}),
  });
  return {
    task,
    core,
    mechanism,
    hiddenSize,
    numLayers,
    length,
    steps,
    epochs,
    batchSize,
    lr,
    clip,
    seed,
    zoneout,
    dataDir: input.dataDir ?? null,
    evalEvery,
    evalSize,
    checkpointEvery,
    gateBias,
    downsize,
    tMax,
    engine,
  };
}

/** The input that resolves back to `config` (what a sweep writes as a run's config.json). */
export function taskRunInput(config: TaskRunConfig): TaskRunInput {
  const { length, steps, epochs, dataDir, gateBias, downsize, tMax, ...rest } = config;
  return {
    ...rest,
    ...(isPixelTask(config.task) ? {} : { length }),
    ...(epochs !== null ? { epochs } : { steps }),
    ...(dataDir !== null ? { dataDir } : {}),
    ...(gateBias !== null ? { gateBias } : {}),
    ...(downsize !== null ? { downsize } : {}),
    ...(tMax !== null ? { tMax } : {}),
  };
}
