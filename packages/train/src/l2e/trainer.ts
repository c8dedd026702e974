import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '@urgate/cells';
import { FusedAdam, useNativeKernels } from '@urgate/kernels';
import { divergenceReason, type RunOutcome } from '../divergence.js';
import { MetricsWriter, readMetrics } from '../metrics.js';
import { releaseNativeMemory } from '../native-memory.js';
import { ProgressReporter } from '../progress.js';
import { loadTrainingState, restoreOptimizer, saveTrainingState } from '../training-state.js';
import { type L2eRunConfig, l2eModelName } from './config.js';
import { type L2eBatch, type L2eCurriculumState, openL2eData } from './data.js';
import {
  assignL2eParams,
  createL2eModel,
  type L2eModel,
  l2eLoss,
  l2eModelMeta,
  scoreLogits,
} from './model.js';

/** Files of an l2e run directory (as the other trainers'). */
export const L2E_FILES = {
  checkpoint: 'checkpoint.safetensors',
  model: 'model.safetensors',
  metrics: 'metrics.jsonl',
  result: 'result.json',
} as const;

export interface L2eEvaluation {
  /** Mean cross-entropy per target character (nats). */
  loss: number;
  /** Target characters right (argmax, teacher forcing). */
  charAccuracy: number;
  /** Programs with every target character right. */
  programAccuracy: number;
  chars: number;
  programs: number;
}

export interface L2eRunResult {
  config: L2eRunConfig;
  outcome: RunOutcome;
  steps: number;
  divergence?: { step: number; reason: string };
  /** Last evaluation: held-out test-split programs at the hardest level. */
  final: L2eEvaluation | null;
  /** Highest character accuracy seen. */
  best: (L2eEvaluation & { step: number }) | null;
  /** The training curriculum's level at the end. */
  level: { length: number; nesting: number };
  msPerStep: number;
}

export interface TrainL2eOptions {
  outDir: string;
  resume?: boolean;
  /** Stop (with a checkpoint) after this many steps in this process: tests of resume. */
  stopAfter?: number;
  /** Progress output (default stderr); null: silent. */
  progress?: NodeJS.WriteStream | null;
}

// What a resumed run must share with its checkpoint (steps and the cadences may change).
const RESUME_KEYS = [
  'grammar',
  'programTask',
  'length',
  'nesting',
  'curriculum',
  'core',
  'mechanism',
  'hiddenSize',
  'numLayers',
  'batchSize',
  'lr',
  'clip',
  'seed',
  'rmc',
] as const;

/** Accuracy and loss of the model on these batches (teacher forcing, as in training). */
export async function evaluateL2e(model: L2eModel, batches: L2eBatch[]): Promise<L2eEvaluation> {
  let nll = 0;
  const total = { correct: 0, chars: 0, solved: 0, programs: 0 };
  for (const batch of batches) {
    const [loss, logits] = tf.tidy(() => {
      const out = l2eLoss(model, batch);
      return [out.loss.dataSync()[0], out.logits.dataSync() as Float32Array] as const;
    });
    await releaseNativeMemory();
    const s = scoreLogits(logits, batch);
    nll += loss * s.chars;
    total.correct += s.correct;
    total.chars += s.chars;
    total.solved += s.solved;
    total.programs += s.programs;
  }
  return {
    loss: nll / total.chars,
    charAccuracy: total.correct / total.chars,
    programAccuracy: total.solved / total.programs,
    chars: total.chars,
    programs: total.programs,
  };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, path);
}

function evaluationOf(r: Record<string, unknown>): L2eEvaluation {
  return {
    loss: r.loss as number,
    charAccuracy: r.charAccuracy as number,
    programAccuracy: r.programAccuracy as number,
    chars: r.chars as number,
    programs: r.programs as number,
  };
}

/**
 * Trains an encoder-decoder on generated programs: Adam with global-norm clipping, evaluation
 * on held-out test programs at the hardest level, the curriculum fed by validation programs,
 * atomic training-state checkpoints (parameters, Adam moments, curriculum state) and exact
 * resume. A non-finite loss or gradient norm ends the run as "diverged", recorded, not thrown.
 */
export async function trainL2e(
  config: L2eRunConfig,
  options: TrainL2eOptions,
): Promise<L2eRunResult> {
  if (!useNativeKernels())
    throw new Error(
      'the trainer needs the native kernels: run `npm run build` (see packages/kernels/README.md)',
    );
  const { outDir } = options;
  const data = openL2eData(config);
  await mkdir(outDir, { recursive: true });
  const model = createL2eModel(config, data.alphabet.vocabulary.length);
  const names = Object.keys(model.params);
  const checkpointPath = join(outDir, L2E_FILES.checkpoint);

  let step = 0;
  let state: Awaited<ReturnType<typeof loadTrainingState>> | null = null;
  if (options.resume && existsSync(checkpointPath)) {
    state = await loadTrainingState(checkpointPath);
    const saved = (state.training.config ?? {}) as Record<string, unknown>;
    for (const key of RESUME_KEYS)
      if (JSON.stringify(saved[key]) !== JSON.stringify(config[key]))
        throw new Error(
          `--resume: ${checkpointPath} was trained with ${key} ${JSON.stringify(saved[key])}, this run has ${JSON.stringify(config[key])}; use another --out or the same settings`,
        );
    assignL2eParams(model, state.params, checkpointPath);
    data.curriculum.restore(state.training.curriculum as L2eCurriculumState);
    step = state.training.step;
  }
  const vars = Object.values(model.params);
  const adam = new FusedAdam(vars, { lr: config.lr, clipNorm: config.clip });
  if (state?.optimizer) restoreOptimizer(adam, names, state.optimizer);
  const metrics = new MetricsWriter(
    join(outDir, L2E_FILES.metrics),
    state ? { resumeAtStep: step } : {},
  );
  const save = () =>
    saveTrainingState(checkpointPath, {
      model: l2eModelMeta(model),
      params: model.params,
      optimizer: adam,
      training: { step, config, curriculum: data.curriculum.state() },
    });
  const progress =
    options.progress === null
      ? null
      : new ProgressReporter({
          total: config.steps,
          start: step,
          label: `l2e ${config.grammar} ${config.programTask} ${l2eModelName(config)} seed ${config.seed}`,
          ...(options.progress ? { stream: options.progress } : {}),
        });

  let divergence: L2eRunResult['divergence'];
  let trainMs = 0;
  let stepsHere = 0;
  while (step < config.steps) {
    const batch = data.trainBatch(step);
    const started = performance.now();
    const { value, grads } = tf.variableGrads(() => l2eLoss(model, batch).loss, vars);
    const loss = value.dataSync()[0];
    const gradNorm = Number.isFinite(loss)
      ? adam.step(vars.map((v) => grads[v.name])).gradNorm
      : Number.NaN;
    tf.dispose([value, grads]);
    await releaseNativeMemory();
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
    if (step % config.evalEvery === 0 || step === config.steps) {
      const test = await evaluateL2e(model, data.testBatches());
      let validation: L2eEvaluation | null = null;
      let advanced = false;
      if (data.curriculum.advances) {
        validation = await evaluateL2e(model, [data.validationBatch(step)]);
        advanced = data.curriculum.observe(validation);
      }
      const level = data.curriculum.level();
      metrics.write({
        step,
        kind: 'eval',
        ...test,
        length: level.length,
        nesting: level.nesting,
        ...(validation ? { validationLoss: validation.loss, advanced } : {}),
      });
      progress?.update(step, {
        charAcc: test.charAccuracy,
        progAcc: test.programAccuracy,
        level: `${level.nesting}.${level.length}`,
      });
    }
    if (step % config.checkpointEvery === 0 || step === config.steps) await save();
    if (options.stopAfter !== undefined && stepsHere >= options.stopAfter && step < config.steps) {
      await save();
      progress?.stop();
      tf.dispose(vars);
      return {
        config,
        outcome: 'finished',
        steps: step,
        final: null,
        best: null,
        level: data.curriculum.level(),
        msPerStep: trainMs / stepsHere,
      };
    }
  }
  progress?.stop();

  const evals = readMetrics(metrics.path).filter((r) => r.kind === 'eval');
  const last = evals[evals.length - 1];
  let best: L2eRunResult['best'] = null;
  for (const r of evals)
    if (best === null || (r.charAccuracy as number) > best.charAccuracy)
      best = { step: r.step, ...evaluationOf(r) };
  const result: L2eRunResult = {
    config,
    outcome: divergence ? 'diverged' : 'finished',
    steps: step,
    ...(divergence ? { divergence } : {}),
    final: last ? evaluationOf(last) : null,
    best,
    level: data.curriculum.level(),
    msPerStep: stepsHere > 0 ? trainMs / stepsHere : Number.NaN,
  };
  if (!divergence) {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, v] of Object.entries({ ...model.params, ...model.constants }))
      tensors[name] = { shape: [...v.shape], data: Float32Array.from(await v.data()) };
    await saveCheckpoint(join(outDir, L2E_FILES.model), tensors, {
      model: l2eModelMeta(model),
      training: { config },
    });
  }
  await writeJson(join(outDir, L2E_FILES.result), result);
  tf.dispose(vars);
  return result;
}
