import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '@urgate/cells';
import { FusedAdam, softmaxCrossEntropy, useNativeKernels } from '@urgate/kernels';
import type { ImageDataset } from '@urgate/tasks';
import { divergenceReason, type RunOutcome } from '../divergence.js';
import { MetricsWriter, readMetrics } from '../metrics.js';
import { releaseNativeMemory } from '../native-memory.js';
import { ProgressReporter } from '../progress.js';
import { loadTrainingState, restoreOptimizer, saveTrainingState } from '../training-state.js';
import { isPixelTask, type TaskRunConfig } from './config.js';
import { openTaskData, type TaskBatch } from './data.js';
import {
  addingPrediction,
  assignParams,
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
  checkpoint: 'checkpoint.safetensors',
  model: 'model.safetensors',
  metrics: 'metrics.jsonl',
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
      loss: softmaxCrossEntropy(logits, targets),
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
    loss: softmaxCrossEntropy(logits, labels),
    correct: tf.equal(tf.argMax(logits, 1), labels).sum() as tf.Scalar,
    count: labels.size,
  };
}

export async function evaluate(
  model: TaskModel,
  batches: Iterable<TaskBatch>,
): Promise<EvalMetrics> {
  let lossSum = 0;
  let weight = 0;
  let correct = 0;
  let count = 0;
  for (const batch of batches) {
    const r = tf.tidy(() => {
      const out = taskLoss(model, batch, { training: false });
      return [out.loss.dataSync()[0], out.correct?.dataSync()[0] ?? Number.NaN, out.count ?? 0];
    });
    await releaseNativeMemory();
    lossSum += r[0] * batch.batchSize;
    weight += batch.batchSize;
    if (r[2] > 0) {
      correct += r[1];
      count += r[2];
    }
  }
  return { loss: lossSum / weight, ...(count > 0 ? { accuracy: correct / count } : {}) };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, path);
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

/**
 * Trains one model on one task: Adam with global-norm clipping, periodic evaluation, atomic
 * training-state checkpoints, exact resume. A non-finite loss or gradient norm ends the run
 * with outcome "diverged" (recorded in result.json), not an exception.
 */
export async function trainTask(
  config: TaskRunConfig,
  options: TrainTaskOptions,
): Promise<TaskRunResult> {
  if (!useNativeKernels())
    throw new Error(
      'the trainer needs the native kernels: run `npm run build` (see packages/kernels/README.md)',
    );
  const { outDir } = options;
  const pixel = isPixelTask(config.task);
  const data = await openTaskData(config, options.dataset);
  const totalSteps =
    config.epochs !== null
      ? Math.ceil(config.epochs * (data.stepsPerEpoch as number))
      : config.steps;
  const cfg = { ...config, steps: totalSteps };
  await mkdir(outDir, { recursive: true });
  const model = createTaskModel(cfg, data.inputSize, data.outputSize);
  const names = Object.keys(model.params);
  const checkpointPath = join(outDir, RUN_FILES.checkpoint);

  let step = 0;
  let state: Awaited<ReturnType<typeof loadTrainingState>> | null = null;
  if (options.resume && existsSync(checkpointPath)) {
    state = await loadTrainingState(checkpointPath);
    const saved = (state.training.config ?? {}) as Record<string, unknown>;
    for (const key of RESUME_KEYS)
      if (saved[key] !== cfg[key])
        throw new Error(
          `--resume: ${checkpointPath} was trained with ${key} ${JSON.stringify(saved[key])}, this run has ${JSON.stringify(cfg[key])}; use another --out or the same settings`,
        );
    assignParams(model, state.params);
    step = state.training.step;
  }
  const adam = new FusedAdam(Object.values(model.params), { lr: cfg.lr, clipNorm: cfg.clip });
  if (state?.optimizer) restoreOptimizer(adam, names, state.optimizer);
  const metrics = new MetricsWriter(
    join(outDir, RUN_FILES.metrics),
    state ? { resumeAtStep: step } : {},
  );

  const forgetPath = join(outDir, RUN_FILES.forget);
  const forgetBatch = () => tf.tidy(() => batchInputs(data.trainBatch(0)));
  if (step === 0) {
    const xs = forgetBatch();
    await writeJson(forgetPath, { layer: 0, before: Array.from(meanForgetPerUnit(model, xs)) });
    xs.dispose();
  }
  const save = () =>
    saveTrainingState(checkpointPath, {
      model: modelMeta(model),
      params: model.params,
      optimizer: adam,
      training: { step, config: cfg },
    });

  const progress =
    options.progress === null
      ? null
      : new ProgressReporter({
          total: totalSteps,
          start: step,
          label: `${cfg.task} ${cfg.mechanism}${cfg.core.toUpperCase()} seed ${cfg.seed}`,
          ...(options.progress ? { stream: options.progress } : {}),
        });
  let divergence: TaskRunResult['divergence'];
  let trainMs = 0;
  let stepsHere = 0;
  const vars = Object.values(model.params);
  // A collection costs a few ms: every step when a step's tape is large, else now and then.
  const gcEvery = pixel ? 1 : 50;
  while (step < totalSteps) {
    const batch = data.trainBatch(step);
    const started = performance.now();
    const { value, grads } = tf.variableGrads(
      () => taskLoss(model, batch, { training: true, step }).loss,
      vars,
    );
    const loss = value.dataSync()[0];
    const gradNorm = Number.isFinite(loss)
      ? adam.step(vars.map((v) => grads[v.name])).gradNorm
      : Number.NaN;
    tf.dispose([value, grads]);
    if (step % gcEvery === 0) await releaseNativeMemory();
    trainMs += performance.now() - started;
    stepsHere += 1;
    step += 1;
    metrics.write({ step, kind: 'train', loss, gradNorm });
    const reason = divergenceReason(loss, gradNorm);
    if (reason) {
      divergence = { step, reason };
      break;
    }
    progress?.update(step, { loss });
    if (step % cfg.evalEvery === 0 || step === totalSteps) {
      const e = await evaluate(model, data.evalBatches());
      metrics.write({ step, kind: 'eval', ...e });
      progress?.update(step, {
        evalLoss: e.loss,
        ...(e.accuracy !== undefined ? { evalAcc: e.accuracy } : {}),
      });
    }
    if (step % cfg.checkpointEvery === 0 || step === totalSteps) await save();
    if (options.stopAfter !== undefined && stepsHere >= options.stopAfter && step < totalSteps) {
      await save();
      progress?.stop();
      tf.dispose(vars);
      return {
        config: cfg,
        outcome: 'finished',
        steps: step,
        final: null,
        best: null,
        test: null,
        msPerStep: trainMs / stepsHere,
      };
    }
  }
  progress?.stop();

  const records = readMetrics(metrics.path);
  const evals = records.filter((r) => r.kind === 'eval');
  const last = evals[evals.length - 1];
  const result: TaskRunResult = {
    config: cfg,
    outcome: divergence ? 'diverged' : 'finished',
    steps: step,
    ...(divergence ? { divergence } : {}),
    final: last
      ? {
          loss: last.loss as number,
          ...(last.accuracy !== undefined ? { accuracy: last.accuracy as number } : {}),
        }
      : null,
    best: bestOf(pixel, records),
    test: !divergence && data.testBatches ? await evaluate(model, data.testBatches()) : null,
    msPerStep: stepsHere > 0 ? trainMs / stepsHere : Number.NaN,
  };
  if (!divergence) {
    const xs = forgetBatch();
    const before = JSON.parse(await readFile(forgetPath, 'utf8'));
    await writeJson(forgetPath, { ...before, after: Array.from(meanForgetPerUnit(model, xs)) });
    xs.dispose();
    await saveCheckpoint(join(outDir, RUN_FILES.model), await paramTensors(model), {
      model: modelMeta(model),
    });
  }
  await writeJson(join(outDir, RUN_FILES.result), result);
  tf.dispose(vars);
  return result;
}

async function paramTensors(model: TaskModel) {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, v] of Object.entries(model.params))
    out[name] = { shape: [...v.shape], data: Float32Array.from(await v.data()) };
  return out;
}
