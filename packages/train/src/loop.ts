import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointTensors } from '@urgate/contract';
import type { ModelArenas } from '@urgate/kernels/native';
import { type Collective, checkSameOnAllRanks, SOLO } from '@urgate/mpi';
import { broadcastParams, reduceGradientArrays } from './data-parallel.js';
import { divergenceReason } from './divergence.js';
import { MetricsWriter } from './metrics.js';
import { ProgressReporter } from './progress.js';
import { decodeTrainingState, restoreArenas, saveTrainingState } from './training-state.js';

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
  /**
   * Loss of optimizer step `step` (0-based), leaving every gradient in `model.grads`. In a world
   * of N ranks: the mean over this rank's rows of the global batch.
   */
  gradients(step: number): number | Promise<number>;
  /**
   * What this rank's loss of the step just computed weighs in the global batch's mean (its rows,
   * or target characters, over the global batch's); default 1 / world size.
   */
  share?(): number;
  /** Rows of row-sparse gradients touched by this rank's step, by tensor name (embeddings). */
  touchedRows?(): Record<string, Int32Array>;
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
  /**
   * The data-parallel world (default: one process). Every rank runs the loop on its share of
   * each global batch; gradients are summed over ranks once a step, so every rank takes the same
   * optimizer step; rank 0 alone writes checkpoints, metrics and progress.
   */
  world?: Collective;
  /** What names the prepared data (e.g. its manifests' checksums): ranks must agree on it. */
  dataIdentity?: string;
}

/** Where records go: the metrics file on rank 0, nowhere on the other ranks. */
export interface MetricsSink {
  readonly path: string;
  count: number;
  write(record: { step: number; [key: string]: unknown }): void;
}

/** Time and payload of the gradient allreduce, per step, in this process. */
export interface ReduceTotals {
  ms: number;
  bytes: number;
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
  /** The run's metrics file, open for the trainer's final records (rank 0; a sink elsewhere). */
  metrics: MetricsSink;
  /** Gradient allreduce totals of this process's steps (zero in a world of one). */
  reduce: ReduceTotals;
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
  const world = settings.world ?? SOLO;
  const writer = world.rank === 0;
  if (world.size > 1) {
    checkSameOnAllRanks(world, 'the run settings', JSON.stringify(settings.config));
    checkSameOnAllRanks(world, 'the prepared data', settings.dataIdentity ?? '');
  }
  if (writer) await mkdir(outDir, { recursive: true });
  const checkpointPath = join(outDir, LOOP_FILES.checkpoint);
  const { model } = problem;
  // Wall-clock time is kept in the checkpoint only when a minutes budget needs it to resume.
  const timed = settings.minutes !== null;
  let step = 0;
  let trainMs = 0;
  let keep: number | undefined;
  const checkpoint = settings.resume ? await rootCheckpoint(world, checkpointPath) : null;
  if (checkpoint) {
    const saved = decodeTrainingState(checkpoint, checkpointPath);
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
  // Every rank starts from rank 0's parameters (equal already when all seeded alike).
  broadcastParams(world, model);
  const metricsPath = join(outDir, LOOP_FILES.metrics);
  const metrics: MetricsSink = writer
    ? new MetricsWriter(
        metricsPath,
        keep !== undefined ? { keep } : step > 0 ? { resumeAtStep: step } : {},
      )
    : { path: metricsPath, count: keep ?? 0, write: () => {} };
  // Every rank calls save (saveData may be collective); rank 0 alone writes.
  const save = async () => {
    const data = problem.saveData?.();
    if (!writer) return;
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
        worldSize: world.size,
      },
    });
  };

  const maxSteps = settings.steps ?? Infinity;
  const budgetMs = settings.minutes === null ? Infinity : settings.minutes * 60_000;
  const byTime = settings.steps === null;
  const seconds = (ms: number) => Math.min(Math.round(ms / 1000), Math.round(budgetMs / 1000));
  const progress =
    settings.progress === null || !writer
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
  const reduce: ReduceTotals = { ms: 0, bytes: 0 };
  let divergence: LoopResult['divergence'];
  let stopped = false;
  while (step < maxSteps && trainMs < budgetMs) {
    const started = performance.now();
    let loss = await problem.gradients(step);
    // The gradients are now in model.grads, one flat Float32Array in the spec's tensor order.
    if (world.size > 1) {
      // Gradients computed -> summed over ranks -> clipped and applied alike on every rank.
      const reduced = reduceGradientArrays(
        world,
        model.tensors.map((t) => ({
          name: t.name,
          values: model.grads.subarray(t.offset, t.offset + t.size),
          width: t.shape[1] ?? 1,
        })),
        loss,
        problem.share?.() ?? 1 / world.size,
        problem.touchedRows?.(),
      );
      loss = reduced.loss;
      reduce.ms += reduced.ms;
      reduce.bytes += reduced.bytes;
    }
    const gradNorm = Number.isFinite(loss)
      ? model.adamUpdate({ lr: settings.lr, clipNorm: settings.clip })
      : Number.NaN;
    problem.advance?.();
    const ms = performance.now() - started;
    msHere += ms;
    trainMs += ms;
    if (timed && world.size > 1) {
      // A minutes budget ends every rank at the same step: the slowest rank's clock decides.
      const clock = Float64Array.of(trainMs);
      world.allreduce(clock, 'max');
      trainMs = clock[0];
    }
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
  return { step, divergence, stopped, msHere, stepsHere, metrics, reduce };
}

/**
 * The checkpoint to resume from, as rank 0 reads it, on every rank (so only rank 0's disk needs
 * it); null when rank 0 has none.
 */
async function rootCheckpoint(world: Collective, path: string): Promise<Uint8Array | null> {
  const bytes = world.rank === 0 && existsSync(path) ? await readFile(path) : null;
  if (world.size === 1) return bytes;
  const length = Float64Array.of(bytes?.length ?? 0);
  world.broadcast(length, 0);
  if (length[0] === 0) return null;
  const all = bytes ? new Uint8Array(bytes) : new Uint8Array(length[0]);
  world.broadcast(all, 0);
  return all;
}
