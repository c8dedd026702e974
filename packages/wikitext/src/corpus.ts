import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@urgate/files';
import {
  identifySources,
  type MismatchPolicy,
  type PrepareProgress,
  prepareSplit,
  type SourceFileIdentity,
  type SplitManifest,
} from './cache.js';
import { loadSentencePiece, trainSentencePiece } from './sentencepiece.js';
import { locateSplit, readSourceLines, SPLITS, type SplitName } from './splits.js';
import type { Tokenizer } from './tokenizer.js';
import {
  buildWordVocab,
  countWords,
  loadWordVocab,
  saveWordVocab,
  WordTokenizer,
} from './wordVocab.js';

export type TokenizerSpec =
  /** Word level: vocabulary of the train split, words seen fewer than minCount times -> `<unk>`. */
  | { kind: 'word'; minCount?: number }
  /** An existing SentencePiece model file. */
  | { kind: 'sentencepiece'; model: string }
  /** Train a SentencePiece model on the train split (kept in the cache directory). */
  | {
      kind: 'sentencepiece';
      vocabSize: number;
      modelType?: 'unigram' | 'bpe';
      inputSentenceSize?: number;
      maxSentenceLength?: number;
    };

export interface PrepareCorpusOptions {
  /** Directory with wiki.*.tokens, wiki.*.raw or Hugging Face parquet shards. */
  dataDir: string;
  cacheDir: string;
  tokenizer: TokenizerSpec;
  splits?: readonly SplitName[];
  onTokenizerMismatch?: MismatchPolicy;
  onLog?: (message: string) => void;
  onProgress?: (progress: PrepareProgress) => void;
}

export interface PreparedCorpus {
  tokenizer: Tokenizer;
  splits: Partial<Record<SplitName, SplitManifest>>;
}

interface TokenizerManifest {
  spec: TokenizerSpec;
  trainSources: SourceFileIdentity[];
  file: string;
}

async function reusableTokenizerFile(
  cacheDir: string,
  spec: TokenizerSpec,
  trainSources: SourceFileIdentity[],
): Promise<string | null> {
  try {
    const manifest = JSON.parse(
      await readFile(join(cacheDir, 'tokenizer.json'), 'utf8'),
    ) as TokenizerManifest;
    const same =
      JSON.stringify(manifest.spec) === JSON.stringify(spec) &&
      JSON.stringify(manifest.trainSources) === JSON.stringify(trainSources);
    if (same && (await stat(join(cacheDir, manifest.file))).isFile())
      return join(cacheDir, manifest.file);
  } catch {
    // no manifest or no file: build the tokenizer
  }
  return null;
}

/**
 * The tokenizer a spec asks for. A word vocabulary or a trained SentencePiece model is saved in
 * cacheDir (`vocab.txt` / `spm.model` + `tokenizer.json`) and reused while the spec and the
 * train split's bytes are unchanged.
 */
export async function resolveTokenizer(
  dataDir: string,
  cacheDir: string,
  spec: TokenizerSpec,
  onLog?: (message: string) => void,
): Promise<Tokenizer> {
  if (spec.kind === 'sentencepiece' && 'model' in spec) return loadSentencePiece(spec.model);
  const train = await locateSplit(dataDir, 'train');
  const trainSources = await identifySources(train);
  const existing = await reusableTokenizerFile(cacheDir, spec, trainSources);
  await mkdir(cacheDir, { recursive: true });
  let file: string;
  if (spec.kind === 'word') {
    if (existing) return new WordTokenizer(await loadWordVocab(existing));
    onLog?.(`building the word vocabulary from ${train.files.join(', ')}`);
    const words = buildWordVocab(await countWords(readSourceLines(train)), spec.minCount ?? 1);
    file = 'vocab.txt';
    await saveWordVocab(join(cacheDir, file), words);
  } else {
    if (existing) return loadSentencePiece(existing);
    onLog?.(`training a ${spec.vocabSize}-piece SentencePiece model on ${train.files.join(', ')}`);
    file = 'spm.model';
    await trainSentencePiece(readSourceLines(train), {
      modelPrefix: join(cacheDir, 'spm'),
      vocabSize: spec.vocabSize,
      modelType: spec.modelType,
      inputSentenceSize: spec.inputSentenceSize,
      maxSentenceLength: spec.maxSentenceLength,
      onWarning: onLog,
    });
  }
  const manifest: TokenizerManifest = { spec, trainSources, file };
  await writeFileAtomic(join(cacheDir, 'tokenizer.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return spec.kind === 'word'
    ? new WordTokenizer(await loadWordVocab(join(cacheDir, file)))
    : loadSentencePiece(join(cacheDir, file));
}

/** Resolves the tokenizer, then prepares (or reuses) each split's token cache. */
export async function prepareCorpus(options: PrepareCorpusOptions): Promise<PreparedCorpus> {
  const tokenizer = await resolveTokenizer(
    options.dataDir,
    options.cacheDir,
    options.tokenizer,
    options.onLog,
  );
  const splits: Partial<Record<SplitName, SplitManifest>> = {};
  for (const split of options.splits ?? SPLITS) {
    const result = await prepareSplit({
      dataDir: options.dataDir,
      split,
      tokenizer,
      cacheDir: options.cacheDir,
      onTokenizerMismatch: options.onTokenizerMismatch,
      onLog: options.onLog,
      onProgress: options.onProgress,
    });
    splits[split] = result.manifest;
  }
  return { tokenizer, splits };
}
