import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '@urgate/contract';
import { writeJsonAtomic } from '@urgate/files';
import { nativeAvailable, releaseTapes } from '@urgate/kernels';
import { type Collective, world as joinWorld, SOLO, shareOf } from '@urgate/mpi';
import type { ImageDataset } from '@urgate/tasks';
import type { RunOutcome } from '../divergence.js';
import { LOOP_FILES, runTrainingLoop } from '../loop.js';
import { readMetrics } from '../metrics.js';
import { VariableTraining, variableTensors } from '../variable-training.js';
import { isPixelTask, type TaskRunConfig } from './config.js';
import { openTaskData, type TaskBatch, taskBatchRows } from './data.js';
import {
  addingPrediction,
  classifierLogits,
  copyLogits,
  createTaskModel,
  type Mode,
  meanForgetPerUnit,
  modelMeta,
  runLayers,
  type TaskModel,
} from './model.js';

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

function batchInputs(batch: TaskBatch): tf.Tensor3D {
  return tf.tensor3d(batch.inputs, [batch.steps, batch.batchSize, batch.inputSize]);
}

/** Loss of one batch (and its predictions), for training and evaluation alike. */
export function taskLoss(
  model: TaskModel,
  batch: TaskBatch,
  mode: Mode,
): { loss: tf.Scalar; correct?: tf.Scalar; count?: number } {
  const outputs = runLayers(model, batchInputs(batch), mode);
  const h = outputs[outputs.length - 1];
  const task = model.config.task;
  if (task === 'copy') {
    const logits = copyLogits(model, h, batch.targetStart as number);
    const targets = tf.tensor1d(batch.targets as Int32Array, 'int32');
    return {
      loss: model.ops.crossEntropy(logits, targets),
      correct: tf.equal(tf.argMax(logits, 1), targets).sum() as tf.Scalar,
      count: targets.size,
    };
  }
  if (!isPixelTask(task)) {
    const y = addingPrediction(model, h);
    return {
      loss: tf.losses.meanSquaredError(tf.tensor1d(batch.targets as Float32Array), y) as tf.Scalar,
    };
  }
  const logits = classifierLogits(model, h, mode);
  const labels = tf.tensor1d(batch.targets as Int32Array, 'int32');
  return {
    loss: model.ops.crossEntropy(logits, labels),
    correct: tf.equal(tf.argMax(logits, 1), labels).sum() as tf.Scalar,
    count: labels.size,
  };
}

/** Held-out loss (and accuracy); in a world of N ranks each scores its rows of every batch. */
export async function evaluate(
  model: TaskModel,
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
    const r = tf.tidy(() => {
      const out = taskLoss(model, batch, { training: false });
      return [out.loss.dataSync()[0], out.correct?.dataSync()[0] ?? Number.NaN, out.count ?? 0];
    });
    releaseTapes();
    lossSum += r[0] * batch.batchSize;
    weight += batch.batchSize;
    if (r[2] > 0) {
      correct += r[1];
      count += r[2];
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
  if (!nativeAvailable)
    throw new Error(
      'the trainer needs the native kernels (its Adam runs over native arenas, whatever the engine): run `npm run build` (see packages/kernels/README.md)',
    );
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
  const model = createTaskModel(cfg, data.inputSize, data.outputSize);
  const forgetNow = () =>
    tf.tidy(() => Array.from(meanForgetPerUnit(model, batchInputs(data.trainBatch(0)))));
  const before = forgetNow(); // the initialisation is a function of the seed: the same on resume

  const training = new VariableTraining(model.params, cfg);
  const run = await runTrainingLoop(
    {
      label: `${cfg.task} ${cfg.mechanism}${cfg.core.toUpperCase()} seed ${cfg.seed}`,
      model: training.model,
      modelMeta: modelMeta(model),
      gradients: (step) =>
        training.gradients(
          () =>
            taskLoss(model, taskBatchRows(data.trainBatch(step), rows.lo, rows.hi), {
              training: true,
              step,
              ...(world.size > 1 ? { rows } : {}),
            }).loss,
        ),
      share: () => (rows.hi - rows.lo) / rows.total,
      async evaluate() {
        const e = await evaluate(model, data.evalBatches(), world);
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
    tf.dispose(Object.values(model.params));
    return result;
  }
  // Evaluations are collective: every rank runs them; rank 0 alone reads and writes files.
  const test =
    !run.divergence && data.testBatches ? await evaluate(model, data.testBatches(), world) : null;
  if (!writer) {
    tf.dispose(Object.values(model.params));
    return { ...result, test };
  }
  const records = readMetrics(run.metrics.path);
  const evals = records.filter((r) => r.kind === 'eval');
  result.final = evals.length > 0 ? evalMetrics(evals[evals.length - 1]) : null;
  result.best = bestOf(isPixelTask(config.task), records);
  if (!run.divergence) {
    result.test = test;
    await writeJsonAtomic(join(outDir, RUN_FILES.forget), { layer: 0, before, after: forgetNow() });
    await saveCheckpoint(join(outDir, RUN_FILES.model), variableTensors(model.params), {
      model: modelMeta(model),
    });
  } else {
    await writeJsonAtomic(join(outDir, RUN_FILES.forget), { layer: 0, before });
  }
  await writeJsonAtomic(join(outDir, RUN_FILES.result), result);
  tf.dispose(Object.values(model.params));
  return result;
}
