import { join } from 'node:path';
import { saveCheckpoint } from '@urgate/contract';
import { writeJsonAtomic } from '@urgate/files';
import { type Collective, world as joinWorld, SOLO, shareOf } from '@urgate/mpi';
import type { RunOutcome } from '../divergence.js';
import { LOOP_FILES, runTrainingLoop } from '../loop.js';
import { readMetrics } from '../metrics.js';
import { paramTensors } from '../training-state.js';
import { type L2eRunConfig, l2eModelName } from './config.js';
import {
  type L2eAlphabet,
  type L2eBatch,
  type L2eCurriculumState,
  l2eBatch,
  openL2eData,
} from './data.js';
import { l2eArchitecture, l2eModelMeta } from './params.js';
import { scoreLogits } from './score.js';
import { createL2eTraining, type L2eTraining } from './training.js';

/** Files of an l2e run directory (as the other trainers'). */
export const L2E_FILES = {
  ...LOOP_FILES,
  model: 'model.safetensors',
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
  /** Processes that trained it together (data parallel; 1: one process). */
  worldSize: number;
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

/** A rank's share of a batch: its programs [lo, hi) of the batch's (the batch of those alone). */
function batchShare(world: Collective, alphabet: L2eAlphabet, batch: L2eBatch): L2eBatch | null {
  const { lo, hi } = shareOf(world.rank, world.size, batch.batchSize);
  if (world.size === 1) return batch;
  return lo === hi ? null : l2eBatch(alphabet, batch.samples.slice(lo, hi));
}

/**
 * Accuracy and loss of the model on these batches (teacher forcing, as in training); in a world
 * of N ranks each scores its programs of every batch and the counts are summed over ranks.
 */
export async function evaluateL2e(
  model: Pick<L2eTraining, 'evaluate'>,
  batches: L2eBatch[],
  share: { world: Collective; alphabet: L2eAlphabet } | null = null,
): Promise<L2eEvaluation> {
  let nll = 0;
  const total = { correct: 0, chars: 0, solved: 0, programs: 0 };
  const world = share?.world ?? SOLO;
  for (const whole of batches) {
    const batch = share ? batchShare(world, share.alphabet, whole) : whole;
    if (batch === null) continue; // more ranks than programs: this rank has none
    const { loss, logits } = model.evaluate(batch);
    const s = scoreLogits(logits, batch);
    nll += loss * s.chars;
    total.correct += s.correct;
    total.chars += s.chars;
    total.solved += s.solved;
    total.programs += s.programs;
  }
  const sums = Float64Array.of(nll, total.correct, total.chars, total.solved, total.programs);
  world.allreduce(sums, 'sum');
  [nll, total.correct, total.chars, total.solved, total.programs] = sums;
  return {
    loss: nll / total.chars,
    charAccuracy: total.correct / total.chars,
    programAccuracy: total.solved / total.programs,
    chars: total.chars,
    programs: total.programs,
  };
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
 * Trains an encoder-decoder on generated programs with the shared loop (loop.ts): held-out
 * test programs at the hardest level are evaluated, validation programs of the training
 * curriculum feed its level decisions, and the curriculum's state is the data position of a
 * checkpoint (a batch is a pure function of (seed, step) and that state), so resume is exact.
 */
export async function trainL2e(
  config: L2eRunConfig,
  options: TrainL2eOptions,
): Promise<L2eRunResult> {
  const data = openL2eData(config);
  const vocabSize = data.alphabet.vocabulary.length;
  const modelMeta = l2eModelMeta(config, l2eArchitecture(config, vocabSize));
  const training = await createL2eTraining(config, vocabSize);
  // Data parallel: this rank trains programs [lo, hi) of every global batch (--batch-size).
  const world = joinWorld();
  if (config.batchSize < world.size)
    throw new Error(
      `batchSize: expected at least one program per rank (${world.size} ranks), got ${config.batchSize}`,
    );
  const shared = { world, alphabet: data.alphabet };
  let trained = 0;
  let share = 1;
  const run = await runTrainingLoop(
    {
      label: `l2e ${config.grammar} ${config.programTask} ${l2eModelName(config)} seed ${config.seed}`,
      model: training.model,
      constants: training.constants,
      modelMeta,
      gradients(step) {
        trained = step + 1;
        const whole = data.trainBatch(step);
        const batch = batchShare(world, data.alphabet, whole) as L2eBatch;
        // The loss is a mean over target characters: a rank's weighs its characters' share.
        share = batch.targets.length / whole.targets.length;
        return training.gradients(batch);
      },
      share: () => share,
      saveData: () => ({ position: { curriculum: data.curriculum.state() }, tensors: {} }),
      restoreData: (state) =>
        data.curriculum.restore(state.position.curriculum as L2eCurriculumState),
      async evaluate() {
        const test = await evaluateL2e(training, data.testBatches(), shared);
        let validation: L2eEvaluation | null = null;
        let advanced = false;
        if (data.curriculum.advances) {
          validation = await evaluateL2e(training, [data.validationBatch(trained)], shared);
          advanced = data.curriculum.observe(validation);
        }
        const level = data.curriculum.level();
        return {
          record: {
            kind: 'eval',
            ...test,
            length: level.length,
            nesting: level.nesting,
            ...(validation ? { validationLoss: validation.loss, advanced } : {}),
          },
          show: { charAcc: test.charAccuracy, progAcc: test.programAccuracy },
        };
      },
    },
    {
      ...options,
      config: config as unknown as Record<string, unknown>,
      resumeKeys: RESUME_KEYS,
      lr: config.lr,
      clip: config.clip,
      steps: config.steps,
      minutes: null,
      evalEvery: config.evalEvery,
      checkpointEvery: config.checkpointEvery,
      itemsPerStep: { name: 'programs/s', count: config.batchSize },
      world,
      data: { what: 'the generated programs', checksum: data.checksum },
    },
  );
  const result: L2eRunResult = {
    config,
    outcome: run.divergence ? 'diverged' : 'finished',
    steps: run.step,
    ...(run.divergence ? { divergence: run.divergence } : {}),
    final: null,
    best: null,
    level: data.curriculum.level(),
    msPerStep: run.stepsHere > 0 ? run.msHere / run.stepsHere : Number.NaN,
    worldSize: world.size,
  };
  if (run.stopped || world.rank !== 0) {
    training.dispose();
    return result;
  }
  const evals = readMetrics(run.metrics.path).filter((r) => r.kind === 'eval');
  result.final = evals.length > 0 ? evaluationOf(evals[evals.length - 1]) : null;
  for (const r of evals)
    if (result.best === null || (r.charAccuracy as number) > result.best.charAccuracy)
      result.best = { step: r.step, ...evaluationOf(r) };
  if (!run.divergence)
    await saveCheckpoint(
      join(options.outDir, L2E_FILES.model),
      { ...paramTensors(training.model), ...training.constants },
      { model: modelMeta, training: { config } },
    );
  await writeJsonAtomic(join(options.outDir, L2E_FILES.result), result);
  training.dispose();
  return result;
}
