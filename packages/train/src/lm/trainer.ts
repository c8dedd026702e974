import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '@urgate/cells';
import { FusedAdam, useNativeKernels } from '@urgate/kernels';
import { type Batch, serializeTokenizer, trainBatches } from '@urgate/wikitext';
import { divergenceReason, type RunOutcome } from '../divergence.js';
import { MetricsWriter } from '../metrics.js';
import { releaseNativeMemory } from '../native-memory.js';
import { ProgressReporter } from '../progress.js';
import { loadTrainingState, restoreOptimizer, saveTrainingState } from '../training-state.js';
import type { LmConfig } from './config.js';
import { cacheTokenizer, loadLmSplit } from './data.js';
import { evaluateLm, type LmEvaluation } from './evaluate.js';
import {
  assignLmParams,
  createLmModel,
  disposeState,
  type LmModel,
  type LmState,
  lmLoss,
  lmModelMeta,
  zeroLmState,
} from './model.js';

/** Files of an LM run directory. */
export const LM_FILES = {
  /** Training state: parameters + Adam moments + data position (resume). */
  checkpoint: 'checkpoint.safetensors',
  /** The trained model with its tokenizer (export, eval, serve). */
  model: 'model.safetensors',
  metrics: 'metrics.jsonl',
  result: 'result.json',
} as const;

export interface LmRunResult {
  config: LmConfig;
  cacheDir: string;
  outcome: RunOutcome;
  divergence?: { step: number; reason: string };
  steps: number;
  epochs: number;
  trainSeconds: number;
  /** Training tokens per second of training time (this process). */
  tokensPerSecond: number;
  valid: LmEvaluation | null;
  test: LmEvaluation | null;
}

export interface TrainLmOptions {
  /** Prepared corpus (`urgate lm prepare`): tokenizer.json + train/valid/test caches. */
  cacheDir: string;
  outDir: string;
  /** Continue from outDir's training state when there is one. */
  resume?: boolean;
  /** Progress output (default stderr); null: silent. */
  progress?: NodeJS.WriteStream | null;
  /** Evaluate the test split at the end too (default true). */
  test?: boolean;
}

/** Where training is in the data and the budget; saved in `training` for resume. */
interface Position {
  step: number;
  epoch: number;
  /** Windows of this epoch already trained on. */
  window: number;
  trainMs: number;
}

function* epochWindows(ids: Int32Array, articles: Uint32Array, config: LmConfig, skip: number) {
  let k = 0;
  for (const batch of trainBatches(ids, articles, {
    batchSize: config.batchSize,
    bptt: config.bptt,
  }))
    if (k++ >= skip) yield batch;
}

/** One optimizer step on one window: returns the loss, gradient norm and the carried state. */
function trainStep(
  model: LmModel,
  adam: FusedAdam,
  batch: Batch,
  state: LmState,
  config: LmConfig,
  step: number,
) {
  const vars = Object.values(model.params);
  let next: LmState = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = lmLoss(model, batch, state, {
      training: true,
      dropout: config.dropout,
      seed: config.seed,
      step,
    });
    // Truncated BPTT: the state goes on to the next window, its gradient stops here.
    next = out.state.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) }));
    return out.loss;
  }, vars);
  const loss = value.dataSync()[0];
  const gradNorm = Number.isFinite(loss)
    ? adam.step(vars.map((v) => grads[v.name])).gradNorm
    : Number.NaN;
  tf.dispose([value, grads]);
  return { loss, gradNorm, next };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, path);
}

/**
 * Trains a language model with truncated BPTT (state carried between windows, rows zeroed at
 * article starts), Adam with global-norm clipping, until `steps` or `minutes` of training time
 * (evaluation excluded) are used; then evaluates valid (and test) as one stream each and writes
 * model.safetensors with the tokenizer. Resume restores parameters, Adam moments and the data
 * position exactly; the recurrent state restarts from zero at the resumed window.
 */
export async function trainLm(config: LmConfig, options: TrainLmOptions): Promise<LmRunResult> {
  if (!useNativeKernels())
    throw new Error(
      'the LM trainer needs the native kernels: run `npm run build` (see packages/kernels/README.md)',
    );
  const cacheDir = resolve(options.cacheDir);
  const tokenizer = await cacheTokenizer(cacheDir);
  const train = await loadLmSplit(cacheDir, 'train', tokenizer);
  const valid = await loadLmSplit(cacheDir, 'valid', tokenizer);
  const model = createLmModel(
    {
      core: config.core,
      mechanism: config.mechanism,
      numLayers: config.numLayers,
      vocabSize: tokenizer.vocabSize,
      embeddingSize: config.embeddingSize,
      hiddenSize: config.hiddenSize,
      layerNorm: config.layerNorm,
      tiedEmbeddings: config.tiedEmbeddings,
    },
    config.seed,
  );
  const names = Object.keys(model.params);
  const vars = Object.values(model.params);
  const adam = new FusedAdam(vars, { lr: config.lr, clipNorm: config.clip });
  const { outDir } = options;
  await mkdir(outDir, { recursive: true });
  const checkpointPath = join(outDir, LM_FILES.checkpoint);

  let pos: Position = { step: 0, epoch: 0, window: 0, trainMs: 0 };
  if (options.resume && existsSync(checkpointPath)) {
    const saved = await loadTrainingState(checkpointPath);
    assignLmParams(model, saved.params, checkpointPath);
    if (saved.optimizer) restoreOptimizer(adam, names, saved.optimizer);
    pos = saved.training.position as Position;
  }
  const metrics = new MetricsWriter(
    join(outDir, LM_FILES.metrics),
    pos.step > 0 ? { resumeAtStep: pos.step } : {},
  );
  const training = () => ({
    step: pos.step,
    position: pos,
    config,
    cacheDir,
    tokenizer: tokenizer.identity,
  });
  const saveState = () =>
    saveTrainingState(checkpointPath, {
      model: lmModelMeta(model),
      params: model.params,
      optimizer: adam,
      training: training(),
    });

  const budgetMs = config.minutes === null ? Infinity : config.minutes * 60_000;
  const maxSteps = config.steps ?? Infinity;
  const timeBudget = config.steps === null;
  const progress =
    options.progress === null
      ? null
      : new ProgressReporter({
          total: timeBudget ? Math.round(budgetMs / 1000) : maxSteps,
          start: timeBudget ? Math.round(pos.trainMs / 1000) : pos.step,
          label: `lm ${config.mechanism}${config.core.toUpperCase()}${timeBudget ? ' (seconds)' : ''}`,
          ...(options.progress ? { stream: options.progress } : {}),
        });

  const tokensPerStep = config.batchSize * config.bptt;
  let msHere = 0;
  let stepsHere = 0;
  let divergence: LmRunResult['divergence'];
  let windows = epochWindows(train.ids, train.articleStarts, config, pos.window);
  let state = zeroLmState(model, config.batchSize);
  while (pos.step < maxSteps && pos.trainMs < budgetMs) {
    let item = windows.next();
    if (item.done) {
      // A new epoch: every stream starts over, so does its state.
      pos = { ...pos, epoch: pos.epoch + 1, window: 0 };
      windows = epochWindows(train.ids, train.articleStarts, config, 0);
      disposeState(state);
      state = zeroLmState(model, config.batchSize);
      item = windows.next();
    }
    const started = performance.now();
    const { loss, gradNorm, next } = trainStep(
      model,
      adam,
      item.value as Batch,
      state,
      config,
      pos.step,
    );
    const ms = performance.now() - started;
    disposeState(state);
    state = next;
    msHere += ms;
    stepsHere += 1;
    pos = { ...pos, step: pos.step + 1, window: pos.window + 1, trainMs: pos.trainMs + ms };
    metrics.write({ step: pos.step, kind: 'train', loss, gradNorm, epoch: pos.epoch });
    const reason = divergenceReason(loss, gradNorm);
    if (reason) {
      divergence = { step: pos.step, reason };
      break;
    }
    const done = pos.step >= maxSteps || pos.trainMs >= budgetMs;
    progress?.update(
      timeBudget ? Math.min(Math.round(pos.trainMs / 1000), Math.round(budgetMs / 1000)) : pos.step,
      {
        step: pos.step,
        loss,
        'tok/s': Math.round((tokensPerStep * stepsHere) / (msHere / 1000)),
      },
    );
    if (pos.step % config.evalEvery === 0 && !done) {
      const e = await evaluateLm(model, valid, { eosId: tokenizer.eosId });
      metrics.write({
        step: pos.step,
        kind: 'valid',
        wordPerplexity: e.wordPerplexity,
        nllPerToken: e.nllPerToken,
      });
      progress?.update(timeBudget ? Math.round(pos.trainMs / 1000) : pos.step, {
        validPpl: e.wordPerplexity,
      });
    }
    if (pos.step % config.checkpointEvery === 0 || done) await saveState();
    if (pos.step % 50 === 0) await releaseNativeMemory();
  }
  disposeState(state);
  progress?.stop();

  let validEval: LmEvaluation | null = null;
  let testEval: LmEvaluation | null = null;
  if (!divergence) {
    validEval = await evaluateLm(model, valid, { eosId: tokenizer.eosId });
    metrics.write({
      step: pos.step,
      kind: 'valid',
      wordPerplexity: validEval.wordPerplexity,
      nllPerToken: validEval.nllPerToken,
    });
    if (options.test ?? true) {
      testEval = await evaluateLm(model, await loadLmSplit(cacheDir, 'test', tokenizer), {
        eosId: tokenizer.eosId,
      });
      metrics.write({
        step: pos.step,
        kind: 'test',
        wordPerplexity: testEval.wordPerplexity,
        nllPerToken: testEval.nllPerToken,
      });
    }
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, v] of Object.entries(model.params))
      tensors[name] = {
        shape: [...v.shape],
        data: Float32Array.from(v.dataSync() as Float32Array),
      };
    await saveCheckpoint(join(outDir, LM_FILES.model), tensors, {
      model: lmModelMeta(model),
      tokenizer: serializeTokenizer(tokenizer),
      training: training(),
    });
  }
  const result: LmRunResult = {
    config,
    cacheDir,
    outcome: divergence ? 'diverged' : 'finished',
    ...(divergence ? { divergence } : {}),
    steps: pos.step,
    epochs:
      pos.epoch +
      pos.window / Math.max(1, Math.floor((train.ids.length - 1) / config.batchSize / config.bptt)),
    trainSeconds: pos.trainMs / 1000,
    tokensPerSecond: stepsHere > 0 ? (tokensPerStep * stepsHere) / (msHere / 1000) : Number.NaN,
    valid: validEval,
    test: testEval,
  };
  await writeJson(join(outDir, LM_FILES.result), result);
  tf.dispose(vars);
  return result;
}
