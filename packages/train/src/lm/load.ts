import { existsSync } from 'node:fs';
import { loadCheckpoint } from '@urgate/contract';
import { restoreTokenizer, type SerializedTokenizer, type Tokenizer } from '@urgate/wikitext';
import type { Engine } from '../engine.js';
import { cacheTokenizer, loadLmSplit } from './data.js';
import { evaluateLm, type TimedLmEvaluation } from './evaluate.js';
import {
  assignLmParams,
  createLanguageModel,
  type LanguageModel,
  lmArchitectureFromMeta,
} from './model.js';

export interface LoadedLm {
  model: LanguageModel;
  /** The tokenizer stored in the checkpoint (model.safetensors); null in a training state. */
  tokenizer: Tokenizer | null;
  training: Record<string, unknown> | null;
}

/**
 * A language model from a checkpoint (model file or training state); one-line errors. The engine
 * is native unless the caller asks for the reference, as in the trainer: never a silent fallback
 * (without the addon, native fails naming the build step).
 */
export async function loadLmCheckpoint(path: string, engine: Engine = 'native'): Promise<LoadedLm> {
  if (!existsSync(path)) throw new Error(`checkpoint ${path} does not exist`);
  const { tensors, meta } = await loadCheckpoint(path);
  const model = await createLanguageModel(lmArchitectureFromMeta(meta.model, path), 0, engine);
  assignLmParams(model, tensors, path);
  const tokenizer = meta.tokenizer
    ? await restoreTokenizer(meta.tokenizer as SerializedTokenizer)
    : null;
  return { model, tokenizer, training: (meta.training as Record<string, unknown>) ?? null };
}

/**
 * The trainer's evaluation of a checkpoint on a prepared split; the cache defaults to the one
 * the run trained on, and must have been made by the checkpoint's tokenizer.
 */
export async function evaluateLmCheckpoint(
  checkpoint: string,
  split: 'valid' | 'test',
  options: { cacheDir?: string; rows?: number } = {},
): Promise<TimedLmEvaluation> {
  const { cacheDir, rows } = options;
  const loaded = await loadLmCheckpoint(checkpoint);
  const cache = cacheDir ?? (loaded.training?.cacheDir as string | undefined);
  if (cache === undefined)
    throw new Error(`${checkpoint} does not name its corpus cache: pass --cache DIR`);
  const tokenizer = loaded.tokenizer ?? (await cacheTokenizer(cache));
  if (tokenizer.vocabSize !== loaded.model.arch.vocabSize)
    throw new Error(
      `${checkpoint} has a vocabulary of ${loaded.model.arch.vocabSize} but the tokenizer of ${cache} has ${tokenizer.vocabSize}`,
    );
  const data = await loadLmSplit(cache, split, tokenizer);
  return evaluateLm(loaded.model, data, { eosId: tokenizer.eosId, rows });
}
