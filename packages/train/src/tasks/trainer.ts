import { join } from 'node:path';
import { saveCheckpoint } from '@urgate/contract';
import { writeJsonAtomic } from '@urgate/files';
import { type Collective, world as joinWorld, SOLO, shareOf } from '@urgate/mpi';
import type { ImageDataset } from '@urgate/tasks';
import type { RunOutcome } from '../divergence.js';
import { LOOP_FILES, runTrainingLoop } from '../loop.js';
import { readMetrics } from '../metrics.js';
import { paramTensors } from '../training-state.js';
import { isPixelTask, type TaskRunConfig } from './config.js';
import { openTaskData, type TaskBatch, taskBatchRows } from './data.js';
import { createTaskTraining, type TaskTraining } from './training.js';

/** Files of a run directory. */
export const RUN_FILES = {
  ...LOOP_FILES,
  model: 'model.safetensors',
  result: 'result.json',
  forget: 'forget-gates.json',
} as const;

export interface EvalMetrics {
  loss: number;
  /** copy: per-symbol accuracy; pixel: classification accuracy; adding: absent. */
  accuracy?: number;
}

export interface TaskRunResult {
  config: TaskRunConfig;
  outcome: RunOutcome;
  /** Steps actually taken. */
  steps: number;
  divergence?: { step: number; reason: string };
  /** Last evaluation on held-out data (synthetic) or the validation set (pixel). */
  final: EvalMetrics | null;
  /** Best evaluation seen (lowest loss; pixel: highest accuracy). */
  best: (EvalMetrics & { step: number }) | null;
  /** Pixel tasks: the test set with the final weights. */
  test: EvalMetrics | null;
  /** Mean wall-clock milliseconds per training step (this process's steps). */
  msPerStep: number;
  /** Processes that trained it together (data parallel; 1: one process). */
  worldSize: number;
}

export interface TrainTaskOptions {
  outDir: string;
  /** Continue from outDir's checkpoint when there is one. */
  resume?: boolean;
  /** Stop (with a checkpoint) after this many steps in this process: tests of resume. */
  stopAfter?: number;
  /** Replaces the dataset files (tests). */
  dataset?: ImageDataset;
  /** Progress output (default stderr); null: silent. */
  progress?: NodeJS.WriteStream | null;
}

// Settings a resumed run must share with its checkpoint (steps, evaluation and checkpoint cadence may change).
const RESUME_KEYS = [
  'task',
  'core',
  'mechanism',
  'hiddenSize',
  'numLayers',
  'length',
  'batchSize',
  'lr',
  'clip',
  'seed',
  'zoneout',
  'gateBias',
  'downsize',
  'tMax',
] as const;

/** Held-out loss (and accuracy); in a world of N ranks each scores its rows of every batch. */
export async function evaluate(
  training: TaskTraining,
  batches: Iterable<TaskBatch>,
  world: Collective = SOLO,
): Promise<EvalMetrics> {
  let lossSum = 0;
  let weight = 0;
  let correct = 0;
  let count = 0;
  for (const whole of batches) {
    const { lo, hi } = shareOf(world.rank, world.size, whole.batchSize);
    if (lo === hi) continue; // more ranks than rows: this rank has none
    const batch = taskBatchRows(whole, lo, hi);
    const r = training.score(batch);
    lossSum += r.loss * batch.batchSize;
    weight += batch.batchSize;
    if (r.count > 0) {
      correct += r.correct;
      count += r.count;
    }
  }
  const sums = Float64Array.of(lossSum, weight, correct, count);
  world.allreduce(sums, 'sum');
  [lossSum, weight, correct, count] = sums;
  return { loss: lossSum / weight, ...(count > 0 ? { accuracy: correct / count } : {}) };
}

function bestOf(pixel: boolean, records: Record<string, unknown>[]): TaskRunResult['best'] {
  let best: TaskRunResult['best'] = null;
  for (const r of records) {
    if (r.kind !== 'eval') continue;
    const better =
      best === null ||
      (pixel ? (r.accuracy as number) > (best.accuracy as number) : (r.loss as number) < best.loss);
    if (better)
      best = {
        step: r.step as number,
        loss: r.loss as number,
        ...(r.accuracy !== undefined ? { accuracy: r.accuracy as number } : {}),
      };
  }
  return best;
}

const evalMetrics = (r: Record<string, unknown>): EvalMetrics => ({
  loss: r.loss as number,
  ...(r.accuracy !== undefined ? { accuracy: r.accuracy as number } : {}),
});

/**
 * Trains one model on one task with the shared loop (loop.ts): the task's batches are a pure
 * function of the step, so the step is the whole data position. Writes the forget-gate
 * distribution before and after training (paper Figure 4), the model and result.json.
 */
export async function trainTask(
  config: TaskRunConfig,
  options: TrainTaskOptions,
): Promise<TaskRunResult> {
  const { outDir } = options;
  const world = joinWorld();
  const writer = world.rank === 0;
  if (config.batchSize < world.size)
    throw new Error(
      `batchSize: expected at least one row per rank (${world.size} ranks), got ${config.batchSize}`,
    );
  // Data parallel: this rank trains rows [lo, hi) of every global batch (--batch-size).
  const rows = { ...shareOf(world.rank, world.size, config.batchSize), total: config.batchSize };
  const data = await openTaskData(config, options.dataset);
  const steps =
    config.epochs !== null
      ? Math.ceil(config.epochs * (data.stepsPerEpoch as number))
      : config.steps;
  const cfg = { ...config, steps };
  const training = await createTaskTraining(cfg, data.inputSize, data.outputSize);
  const forgetNow = () => Array.from(training.meanForgetPerUnit(data.trainBatch(0)));
  const before = forgetNow(); // the initialisation is a function of the seed: the same on resume

  const run = await runTrainingLoop(
    {
      label: `${cfg.task} ${cfg.mechanism}${cfg.core.toUpperCase()} seed ${cfg.seed}`,
      model: training.model,
      modelMeta: training.meta,
      gradients: (step) =>
        training.gradients(
          taskBatchRows(data.trainBatch(step), rows.lo, rows.hi),
          step,
          world.size > 1 ? rows : undefined,
        ),
      share: () => (rows.hi - rows.lo) / rows.total,
      async evaluate() {
        const e = await evaluate(training, data.evalBatches(), world);
        return {
          record: { kind: 'eval', ...e },
          show: { evalLoss: e.loss, ...(e.accuracy !== undefined ? { evalAcc: e.accuracy } : {}) },
        };
      },
    },
    {
      ...options,
      config: cfg as unknown as Record<string, unknown>,
      resumeKeys: RESUME_KEYS,
      lr: cfg.lr,
      clip: cfg.clip,
      steps,
      minutes: null,
      evalEvery: cfg.evalEvery,
      checkpointEvery: cfg.checkpointEvery,
      // A collection costs a few ms: every step when a step's tape is large, else now and then.
      world,
      data: {
        what: data.stepsPerEpoch === null ? 'the generated batches' : 'the images read',
        checksum: data.checksum,
      },
    },
  );
  const msPerStep = run.stepsHere > 0 ? run.msHere / run.stepsHere : Number.NaN;
  const result: TaskRunResult = {
    config: cfg,
    outcome: run.divergence ? 'diverged' : 'finished',
    steps: run.step,
    ...(run.divergence ? { divergence: run.divergence } : {}),
    final: null,
    best: null,
    test: null,
    msPerStep,
    worldSize: world.size,
  };
  if (run.stopped) {
    training.dispose();
    return result;
  }
  // Evaluations are collective: every rank runs them; rank 0 alone reads and writes files.
  const test =
    !run.divergence && data.testBatches
      ? await evaluate(training, data.testBatches(), world)
      : null;
  if (!writer) {
    training.dispose();
    return { ...result, test };
  }
  const records = readMetrics(run.metrics.path);
  const evals = records.filter((r) => r.kind === 'eval');
  result.final = evals.length > 0 ? evalMetrics(evals[evals.length - 1]) : null;
  result.best = bestOf(isPixelTask(config.task), records);
  if (!run.divergence) {
    result.test = test;
    await writeJsonAtomic(join(outDir, RUN_FILES.forget), { layer: 0, before, after: forgetNow() });
    await saveCheckpoint(join(outDir, RUN_FILES.model), paramTensors(training.model), {
      model: training.meta,
    });
  } else {
    await writeJsonAtomic(join(outDir, RUN_FILES.forget), { layer: 0, before });
  }
  await writeJsonAtomic(join(outDir, RUN_FILES.result), result);
  training.dispose();
  return result;
}
