import type { TaskModelBatch } from '@urgate/kernels/native';
import {
  addingBatch,
  copyBatch,
  epochOrder,
  forgettingBatch,
  type ImageDataset,
  type ImageSet,
  loadImageDataset,
  pixelBatch,
  pixelPermutation,
} from '@urgate/tasks';
import { checksumOfArrays } from '../data-parallel.js';
import { deriveSeed } from '../seeds.js';
import { isPixelTask, PIXEL_TASKS, type TaskRunConfig } from './config.js';

/** One minibatch in the time-major layout of @urgate/cells (what the native task model takes). */
export type TaskBatch = TaskModelBatch;

/**
 * The data of a task run. Training batches are a pure function of the step (synthetic tasks:
 * fresh sequences from (seed, step); pixel tasks: step → (epoch, position) of a seeded shuffle),
 * so the step is the whole data position of a checkpoint.
 */
export interface TaskData {
  inputSize: number;
  outputSize: number;
  /** Pixel tasks: full minibatches per epoch. */
  stepsPerEpoch: number | null;
  trainBatch(step: number): TaskBatch;
  /** Held-out batches: synthetic: `evalSize` fixed batches from another seed; pixel: validation. */
  evalBatches(): Iterable<TaskBatch>;
  /** Pixel tasks: the test set. */
  testBatches: (() => Iterable<TaskBatch>) | null;
  /**
   * What ranks compare at start: synthetic: the first training batch and the held-out batches
   * (same settings, same generator); pixel: every image and label read, and the pixel order.
   */
  checksum(): string;
}

/**
 * Rows [lo, hi) of a batch (one data-parallel rank's share): inputs [T, B, in] and targets
 * [B] or time-major [T', B].
 */
export function taskBatchRows(batch: TaskBatch, lo: number, hi: number): TaskBatch {
  if (lo === 0 && hi === batch.batchSize) return batch;
  const B = batch.batchSize;
  return {
    ...batch,
    batchSize: hi - lo,
    inputs: batchRows(batch.inputs, B, batch.inputSize, lo, hi),
    targets: batchRows(batch.targets, B, 1, lo, hi),
  };
}

/**
 * Rows [lo, hi) of every step of a step-major array [steps, B, width] (steps = length / (B *
 * width); one step: a plain [B, width] array): a data-parallel rank's share of a global batch.
 */
export function batchRows<A extends Float32Array | Int32Array>(
  a: A,
  B: number,
  width: number,
  lo: number,
  hi: number,
): A {
  const n = hi - lo;
  const steps = a.length / (B * width);
  const out = new (a.constructor as new (length: number) => A)(steps * n * width);
  for (let t = 0; t < steps; t++)
    out.set(a.subarray((t * B + lo) * width, (t * B + hi) * width), t * n * width);
  return out;
}

const EVAL_SEED_PURPOSE = 0x5eed;
// Evaluation batch: larger batches run faster but each holds a tape of T x batch x cols floats.
const EVAL_BATCH = 100;

function syntheticBatch(config: TaskRunConfig, seed: number, step: number): TaskBatch {
  const key = { seed, step, batchSize: config.batchSize };
  if (config.task === 'copy') {
    const b = copyBatch({ ...key, length: config.length });
    return { ...b, targets: b.targets, targetStart: b.targetStart };
  }
  return config.task === 'forgetting'
    ? forgettingBatch(key)
    : addingBatch({ ...key, length: config.length });
}

function* setBatches(set: ImageSet, perm: Int32Array | null, limit: number): Iterable<TaskBatch> {
  const count = limit > 0 ? Math.min(limit, set.count) : set.count;
  for (let start = 0; start < count; start += EVAL_BATCH) {
    const indices = Int32Array.from(
      { length: Math.min(EVAL_BATCH, count - start) },
      (_, k) => start + k,
    );
    const b = pixelBatch(set, indices, perm);
    yield { ...b, targets: b.labels };
  }
}

/** `dataset` replaces the files (tests, custom data). */
export async function openTaskData(
  config: TaskRunConfig,
  dataset?: ImageDataset,
): Promise<TaskData> {
  if (!isPixelTask(config.task)) {
    const probe = syntheticBatch(config, config.seed, 0);
    const evalSeed = deriveSeed(config.seed, EVAL_SEED_PURPOSE);
    const evalBatches = () =>
      Array.from({ length: config.evalSize }, (_, k) => syntheticBatch(config, evalSeed, k));
    return {
      inputSize: probe.inputSize,
      outputSize: config.task === 'copy' ? 10 : 1,
      stepsPerEpoch: null,
      trainBatch: (step) => syntheticBatch(config, config.seed, step),
      evalBatches,
      testBatches: null,
      checksum: () =>
        checksumOfArrays([probe, ...evalBatches()].flatMap((b) => [b.inputs, b.targets])),
    };
  }
  const { dataset: name, order } = PIXEL_TASKS[config.task];
  const data =
    dataset ?? (await loadImageDataset(name, config.dataDir ? { dir: config.dataDir } : {}));
  const { train, validation, test } = data;
  const perm = pixelPermutation(order, train.height * train.width);
  const stepsPerEpoch = Math.floor(train.count / config.batchSize);
  if (stepsPerEpoch < 1)
    throw new Error(
      `batch-size: ${config.batchSize} is larger than the ${train.count} training images`,
    );
  let cached: { epoch: number; order: Int32Array } | null = null;
  return {
    inputSize: train.channels,
    outputSize: train.numClasses,
    stepsPerEpoch,
    trainBatch(step) {
      const epoch = Math.floor(step / stepsPerEpoch);
      if (cached?.epoch !== epoch)
        cached = { epoch, order: epochOrder(train.count, config.seed, epoch) };
      const at = (step % stepsPerEpoch) * config.batchSize;
      const b = pixelBatch(train, cached.order.subarray(at, at + config.batchSize), perm);
      return { ...b, targets: b.labels };
    },
    evalBatches: () => setBatches(validation, perm, config.evalSize),
    testBatches: () => setBatches(test, perm, 0),
    checksum: () =>
      checksumOfArrays([
        ...[train, validation, test].flatMap((s) => [s.pixels, s.labels]),
        ...(perm ? [perm] : []),
      ]),
  };
}
