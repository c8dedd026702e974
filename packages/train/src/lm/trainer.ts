import { join, resolve } from 'node:path';
import { type CheckpointTensors, checkAdaptiveSoftmax, saveCheckpoint } from '@urgate/contract';
import { writeJsonAtomic } from '@urgate/files';
import { type Collective, world as joinWorld, shareOf } from '@urgate/mpi';
import { type PreparedSplit, serializeTokenizer, trainBatches } from '@urgate/wikitext';
import type { RunOutcome } from '../divergence.js';
import { type DataState, LOOP_FILES, runTrainingLoop } from '../loop.js';
import { paramTensors } from '../training-state.js';
import { checkFrequencySorted } from './adaptive-softmax.js';
import type { LmConfig } from './config.js';
import { cacheTokenizer, loadLmSplit } from './data.js';
import { evaluateLm, type LmEvaluation } from './evaluate.js';
import {
  checkLmFits,
  createLanguageModel,
  type LanguageModel,
  type LmState,
  lmDropout,
  lmModelMeta,
} from './model.js';
import { gatherStateRows, stateRows, windowRows } from './share.js';

/** Files of an LM run directory. */
export const LM_FILES = {
  ...LOOP_FILES,
  /** The trained model with its tokenizer (export, eval, serve). */
  model: 'model.safetensors',
  result: 'result.json',
} as const;

export interface LmRunResult {
  config: LmConfig;
  cacheDir: string;
  outcome: RunOutcome;
  divergence?: { step: number; reason: string };
  steps: number;
  epochs: number;
  /** Training seconds of this process (a resumed run counts only its own). */
  trainSeconds: number;
  /** Training tokens per second of training time (this process; all ranks' tokens). */
  tokensPerSecond: number;
  /** Processes that trained it together (data parallel; 1: one process). */
  worldSize: number;
  /** Gradient allreduce per step of this process: milliseconds and payload bytes (0: one process). */
  allreduceMsPerStep: number;
  allreduceBytesPerStep: number;
  /** Scoring tokens per second of the last evaluation (this process; NaN if none ran). */
  scoringTokensPerSecond: number;
  valid: LmEvaluation | null;
  test: LmEvaluation | null;
}

export interface TrainLmOptions {
  /** Prepared corpus (`urgate lm prepare`): tokenizer.json + train/valid/test caches. */
  cacheDir: string;
  outDir: string;
  /** Continue from outDir's training state when there is one. */
  resume?: boolean;
  /** Stop (with a checkpoint) after this many steps in this process: tests of resume. */
  stopAfter?: number;
  /** Progress output (default stderr); null: silent. */
  progress?: NodeJS.WriteStream | null;
  /** Evaluate the test split at the end too (default true). */
  test?: boolean;
}

// Everything that changes what a step computes; steps, minutes and the cadences may change.
const RESUME_KEYS = [
  'mechanism',
  'core',
  'hiddenSize',
  'numLayers',
  'embeddingSize',
  'bptt',
  'batchSize',
  'lr',
  'clip',
  'dropout',
  'layerNorm',
  'tiedEmbeddings',
  'adaptiveSoftmax',
  'tailDiv',
  'seed',
  'downsize',
  'tMax',
  'cacheDir',
  'tokenizer',
] as const;

function pick<T, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

/** A rank's rows [lo, lo + rows) of the global batch of `total` rows. */
interface Rows {
  lo: number;
  hi: number;
  total: number;
}

/**
 * The recurrent state of the whole global batch as checkpoint tensors `<l>.h`, `<l>.c` ([B, d]
 * each; every rank's rows gathered: collective), and one rank's rows of it back.
 */
function stateTensors(
  world: Collective,
  state: LmState,
  width: number,
  rows: Rows,
): CheckpointTensors {
  const out: CheckpointTensors = {};
  for (const { l, key, data, shape } of gatherStateRows(world, state, width, rows.lo, rows.total))
    out[`${l}.${key}`] = { shape, data };
  return out;
}
function stateFrom(model: LanguageModel, tensors: CheckpointTensors, rows: Rows): LmState {
  const width = model.arch.hiddenSize;
  return model.zeroState(rows.hi - rows.lo).map((zero, l) => {
    const out: LmState[number] = { ...zero };
    for (const key of Object.keys(zero) as ('h' | 'c')[]) {
      const saved = tensors[`${l}.${key}`];
      if (!saved) continue; // a checkpoint from before the state was saved: zero, as it was then
      out[key] = stateRows(saved.data, width, rows.lo, rows.hi);
    }
    return out;
  });
}

/**
 * A language model on the shared loop (loop.ts): truncated BPTT over the training stream in
 * windows, the recurrent state carried from window to window (zeroed at article starts and
 * at each epoch) and saved with the data position, so a resumed run continues exactly. At the
 * end: valid and test as one stream each, model.safetensors with the tokenizer, result.json.
 */
export async function trainLm(config: LmConfig, options: TrainLmOptions): Promise<LmRunResult> {
  const cacheDir = resolve(options.cacheDir);
  const tokenizer = await cacheTokenizer(cacheDir);
  const train = await loadLmSplit(cacheDir, 'train', tokenizer);
  const valid = await loadLmSplit(cacheDir, 'valid', tokenizer);
  const { core, mechanism, numLayers, embeddingSize, hiddenSize, layerNorm, tiedEmbeddings } =
    config;
  const arch = {
    core,
    mechanism,
    numLayers,
    vocabSize: tokenizer.vocabSize,
    embeddingSize,
    hiddenSize,
    layerNorm,
    tiedEmbeddings,
    ...(config.downsize !== null ? { downsize: config.downsize } : {}),
    ...(config.tMax !== null ? { tMax: config.tMax } : {}),
    ...(config.adaptiveSoftmax !== null
      ? { adaptiveSoftmax: { cutoffs: config.adaptiveSoftmax, tailDiv: config.tailDiv } }
      : {}),
  };
  if (arch.adaptiveSoftmax) {
    checkAdaptiveSoftmax(arch.adaptiveSoftmax, arch.vocabSize, hiddenSize);
    checkFrequencySorted(train.ids, arch.vocabSize, [tokenizer.unkId, tokenizer.eosId], cacheDir);
  }
  // Data parallel: this rank trains rows [lo, hi) of every global batch (--batch-size).
  const world = joinWorld();
  if (config.batchSize < world.size)
    throw new Error(
      `batchSize: expected at least one row per rank (${world.size} ranks), got ${config.batchSize}`,
    );
  const rows: Rows = {
    ...shareOf(world.rank, world.size, config.batchSize),
    total: config.batchSize,
  };
  const localRows = rows.hi - rows.lo;
  // Refuse a batch and window that do not fit before anything of their size is allocated.
  checkLmFits(arch, { batch: localRows, steps: config.bptt });
  const model = await createLanguageModel(arch, config.seed, config.engine);
  // Reports go to metrics and result; the scoring speed (a timing) only to the result.
  let scoringTokensPerSecond = Number.NaN;
  const evaluate = async (split: PreparedSplit) => {
    const { report, tokensPerSecond } = await evaluateLm(model, split, {
      eosId: tokenizer.eosId,
      world,
    });
    scoringTokensPerSecond = tokensPerSecond;
    return report;
  };
  const eval1 = () => evaluate(valid);
  const epochWindows = (skip: number) => {
    const all = trainBatches(train.ids, train.articleStarts, {
      batchSize: config.batchSize,
      bptt: config.bptt,
    });
    for (let k = 0; k < skip; k++) all.next();
    return all;
  };
  let at = { epoch: 0, window: 0 };
  let windows = epochWindows(0);
  let state = model.zeroState(localRows);
  let inputs = new Int32Array(0);
  let next: LmState = [];
  let validEval: LmEvaluation | null = null;

  const run = await runTrainingLoop(
    {
      label: `lm ${mechanism}${core.toUpperCase()}`,
      model,
      modelMeta: lmModelMeta(arch),
      gradients(step) {
        let item = windows.next();
        if (item.done) {
          // A new epoch: every stream starts over, so does its state.
          at = { epoch: at.epoch + 1, window: 0 };
          windows = epochWindows(0);
          state = model.zeroState(localRows);
          item = windows.next();
        }
        const batch = windowRows(item.value, rows.lo, rows.hi);
        inputs = batch.inputs;
        const out = model.trainStep(
          batch,
          state,
          lmDropout(
            config.dropout,
            config.seed,
            step,
            world.size > 1 ? { total: rows.total, offset: rows.lo } : undefined,
          ),
        );
        // Truncated BPTT: the state goes on to the next window, its gradient stops here.
        next = out.state;
        // Recorded in float32, as every run before the native model object recorded it.
        return Math.fround(out.loss);
      },
      advance() {
        state = next;
        at = { ...at, window: at.window + 1 };
      },
      share: () => localRows / rows.total,
      // Untied, the embedding's gradient is zero outside the rows of the window's tokens.
      ...(tiedEmbeddings ? {} : { touchedRows: () => ({ embedding: inputs }) }),
      trainFields: () => ({ epoch: at.epoch }),
      saveData: () => ({
        position: at,
        tensors: stateTensors(world, state, hiddenSize, rows),
      }),
      restoreData(saved: DataState) {
        at = {
          epoch: Number(saved.position.epoch ?? 0),
          window: Number(saved.position.window ?? 0),
        };
        windows = epochWindows(at.window);
        state = stateFrom(model, saved.tensors, rows);
      },
      async evaluate() {
        validEval = await eval1();
        const { wordPerplexity, nllPerToken } = validEval;
        return {
          record: { kind: 'valid', wordPerplexity, nllPerToken },
          show: { validPpl: wordPerplexity },
        };
      },
    },
    {
      ...options,
      config: { ...config, cacheDir, tokenizer: tokenizer.identity },
      resumeKeys: RESUME_KEYS,
      ...pick(config, ['lr', 'clip', 'steps', 'minutes', 'evalEvery', 'checkpointEvery']),
      itemsPerStep: { name: 'tok/s', count: config.batchSize * config.bptt },
      world,
      data: {
        what: 'the prepared data',
        checksum: () => JSON.stringify([train.manifest.checksum, valid.manifest.checksum]),
      },
    },
  );
  let testEval: LmEvaluation | null = null;
  const writer = world.rank === 0;
  if (!run.divergence && !run.stopped) {
    validEval ??= await eval1(); // a run resumed after its final validation
    if (options.test ?? true) {
      testEval = await evaluate(await loadLmSplit(cacheDir, 'test', tokenizer));
      const { wordPerplexity, nllPerToken } = testEval;
      run.metrics.write({ step: run.step, kind: 'test', wordPerplexity, nllPerToken });
    }
    if (writer)
      await saveCheckpoint(join(options.outDir, LM_FILES.model), paramTensors(model), {
        model: lmModelMeta(arch),
        tokenizer: serializeTokenizer(tokenizer),
        training: { step: run.step, config, cacheDir, tokenizer: tokenizer.identity },
      });
  }
  const windowsPerEpoch = Math.max(
    1,
    Math.floor((train.ids.length - 1) / config.batchSize / config.bptt),
  );
  const result: LmRunResult = {
    config,
    cacheDir,
    outcome: run.divergence ? 'diverged' : 'finished',
    ...(run.divergence ? { divergence: run.divergence } : {}),
    steps: run.step,
    epochs: at.epoch + at.window / windowsPerEpoch,
    trainSeconds: run.msHere / 1000,
    tokensPerSecond:
      run.stepsHere > 0
        ? (config.batchSize * config.bptt * run.stepsHere) / (run.msHere / 1000)
        : Number.NaN,
    worldSize: world.size,
    allreduceMsPerStep: run.stepsHere > 0 ? run.reduce.ms / run.stepsHere : 0,
    allreduceBytesPerStep: run.stepsHere > 0 ? run.reduce.bytes / run.stepsHere : 0,
    scoringTokensPerSecond,
    valid: validEval,
    test: testEval,
  };
  if (!run.stopped && writer) await writeJsonAtomic(join(options.outDir, LM_FILES.result), result);
  return result;
}
