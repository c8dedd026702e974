import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelArenas } from '@urgate/kernels/native';
import type { CheckpointTensors } from '@urgate/spec';
import { divergenceReason } from './divergence.js';
import { MetricsWriter } from './metrics.js';
import { ProgressReporter } from './progress.js';
import { loadTrainingState, restoreArenas, saveTrainingState } from './training-state.js';

/** Files every run directory has (trainers add their own). */
export const LOOP_FILES = {
  /** Training state: parameters, Adam moments, data position, carried tensors (resume). */
  checkpoint: 'checkpoint.safetensors',
  metrics: 'metrics.jsonl',
} as const;

/** Where the data stream is and what it carries into the next step (beyond the step count). */
export interface DataState {
  position: Record<string, unknown>;
  tensors: CheckpointTensors;
}

/** A model + data definition: what a trainer hands the loop. */
export interface TrainingProblem {
  /** Progress label. */
  label: string;
  /**
   * The model's parameter, gradient and Adam arenas (its tensors under their checkpoint names,
   * in the spec's order): a native model object, or tf.Variables behind FusedAdam.
   */
  model: ModelArenas;
  /** Fixed model tensors the checkpoint keeps beside the parameters (the RMC's gate offsets). */
  constants?: CheckpointTensors;
  /** The checkpoint's `model` section (LAYOUT.md). */
  modelMeta: Record<string, unknown>;
  /** Loss of optimizer step `step` (0-based), leaving every gradient in `model.grads`. */
  gradients(step: number): number | Promise<number>;
  /** After a finished step: move the data on, keep what the step carries forward. */
  advance?(): void;
  /** Extra fields of the step's `train` metrics record (e.g. epoch). */
  trainFields?(): Record<string, unknown>;
  /** Data position and carried tensors for the checkpoint, and their restoration on resume. */
  saveData?(): DataState;
  restoreData?(state: DataState): void;
  /** Held-out evaluation: the metrics record (without step) and what the progress line shows. */
  evaluate(): Promise<{
    record: Record<string, unknown> & { kind: string };
    show: Record<string, number>;
  }>;
}

export interface LoopSettings {
  outDir: string;
  /** The run's settings, stored as `training.config`. */
  config: Record<string, unknown>;
  /** Settings a resumed run must share with its checkpoint. */
  resumeKeys: readonly string[];
  lr: number;
  /** Global gradient-norm clip (<= 0: none). */
  clip: number;
  /** Budget: optimizer steps and/or minutes of training time (evaluation excluded). */
  steps: number | null;
  minutes: number | null;
  evalEvery: number;
  checkpointEvery: number;
  /** Continue from outDir's checkpoint when there is one. */
  resume?: boolean;
  /** Stop (with a checkpoint) after this many steps in this process: tests of resume. */
  stopAfter?: number;
  /** Progress output (default stderr); null: silent. */
  progress?: NodeJS.WriteStream | null;
  /** Tokens (or examples) per step, for the progress rate. */
  itemsPerStep?: { name: string; count: number };
}

export interface LoopResult {
  /** Optimizer steps taken in all (resumed runs included). */
  step: number;
  divergence?: { step: number; reason: string };
  /** Ended by stopAfter before the budget: no final evaluation belongs to it. */
  stopped: boolean;
  /** Training milliseconds and steps of this process (timings stay out of the checkpoint). */
  msHere: number;
  stepsHere: number;
  /** The run's metrics file, open for the trainer's final records. */
  metrics: MetricsWriter;
}

function checkResume(path: string, saved: Record<string, unknown>, settings: LoopSettings): void {
  for (const key of settings.resumeKeys) {
    if (!(key in saved)) continue; // a setting newer than the checkpoint: it had the default
    const was = JSON.stringify(saved[key] ?? null);
    const is = JSON.stringify(settings.config[key] ?? null);
    if (was !== is)
      throw new Error(
        `--resume: ${path} was trained with ${key} ${was}, this run has ${is}; use another --out or the same settings`,
      );
  }
}

/**
 * The training loop of every urgate trainer: Adam with global-norm clipping on the problem's
 * loss, a `train` metrics record per step, divergence (non-finite loss or gradient norm) ending
 * the run as a result, evaluation every `evalEvery` steps and at the end, training-state
 * checkpoints every `checkpointEvery` steps and at the end, and exact resume: the checkpoint
 * holds parameters, Adam moments, the step, the problem's data position and carried tensors,
 * and how many metrics records existed, so a resumed run writes what an uninterrupted one does.
 */
export async function runTrainingLoop(
  problem: TrainingProblem,
  settings: LoopSettings,
): Promise<LoopResult> {
  const { outDir } = settings;
  await mkdir(outDir, { recursive: true });
  const checkpointPath = join(outDir, LOOP_FILES.checkpoint);
  const { model } = problem;
  // Wall-clock time is kept in the checkpoint only when a minutes budget needs it to resume.
  const timed = settings.minutes !== null;
  let step = 0;
  let trainMs = 0;
  let keep: number | undefined;
  if (settings.resume && existsSync(checkpointPath)) {
    const saved = await loadTrainingState(checkpointPath);
    checkResume(checkpointPath, (saved.training.config ?? {}) as Record<string, unknown>, settings);
    restoreArenas(checkpointPath, saved, model);
    step = saved.training.step;
    trainMs = timed ? Number(saved.training.trainMs ?? 0) : 0;
    keep = saved.training.metricsRecords as number | undefined;
    problem.restoreData?.({
      // `position`: where checkpoints written before the shared loop kept it.
      position: (saved.training.data ?? saved.training.position ?? {}) as Record<string, unknown>,
      tensors: saved.carried,
    });
  }
  const metrics = new MetricsWriter(
    join(outDir, LOOP_FILES.metrics),
    keep !== undefined ? { keep } : step > 0 ? { resumeAtStep: step } : {},
  );
  const save = () => {
    const data = problem.saveData?.();
    return saveTrainingState(checkpointPath, {
      model: problem.modelMeta,
      arenas: model,
      ...(problem.constants ? { constants: problem.constants } : {}),
      ...(data ? { carried: data.tensors } : {}),
      training: {
        step,
        config: settings.config,
        ...(data ? { data: data.position } : {}),
        metricsRecords: metrics.count,
        ...(timed ? { trainMs } : {}),
      },
    });
  };

  const maxSteps = settings.steps ?? Infinity;
  const budgetMs = settings.minutes === null ? Infinity : settings.minutes * 60_000;
  const byTime = settings.steps === null;
  const seconds = (ms: number) => Math.min(Math.round(ms / 1000), Math.round(budgetMs / 1000));
  const progress =
    settings.progress === null
      ? null
      : new ProgressReporter({
          total: byTime ? Math.round(budgetMs / 1000) : maxSteps,
          start: byTime ? seconds(trainMs) : step,
          label: `${problem.label}${byTime ? ' (seconds)' : ''}`,
          ...(settings.progress ? { stream: settings.progress } : {}),
        });
  const at = () => (byTime ? seconds(trainMs) : step);

  let msHere = 0;
  let stepsHere = 0;
  let divergence: LoopResult['divergence'];
  let stopped = false;
  while (step < maxSteps && trainMs < budgetMs) {
    const started = performance.now();
    const loss = await problem.gradients(step);
    // The gradients are now in model.grads, one flat Float32Array in the spec's tensor order.
    const gradNorm = Number.isFinite(loss)
      ? model.adamUpdate({ lr: settings.lr, clipNorm: settings.clip })
      : Number.NaN;
    problem.advance?.();
    const ms = performance.now() - started;
    msHere += ms;
    trainMs += ms;
    stepsHere += 1;
    step += 1;
    metrics.write({ step, kind: 'train', loss, gradNorm, ...problem.trainFields?.() });
    const reason = divergenceReason(loss, gradNorm);
    if (reason) {
      divergence = { step, reason };
      break;
    }
    const done = step >= maxSteps || trainMs >= budgetMs;
    const rate = settings.itemsPerStep;
    progress?.update(at(), {
      step,
      loss,
      ...(rate ? { [rate.name]: Math.round((rate.count * stepsHere) / (msHere / 1000)) } : {}),
    });
    if (step % settings.evalEvery === 0 || done) {
      const e = await problem.evaluate();
      metrics.write({ step, ...e.record });
      progress?.update(at(), e.show);
    }
    if (step % settings.checkpointEvery === 0 || done) await save();
    if (settings.stopAfter !== undefined && stepsHere >= settings.stopAfter && !done) {
      await save();
      stopped = true;
      break;
    }
  }
  progress?.stop();
  return { step, divergence, stopped, msHere, stepsHere, metrics };
}
