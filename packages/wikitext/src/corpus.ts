import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sweepStaleTemps, writeFileAtomic } from '@urgate/files';
import {
  identifySources,
  type PrepareSplitOptions,
  prepareSplit,
  type SourceFileIdentity,
  type SplitManifest,
} from './cache.js';
import { sha256File } from './checksum.js';
import { loadSentencePiece, trainSentencePiece } from './sentencepiece.js';
import { locateSplit, readSourceLines, SPLITS, type SplitName } from './splits.js';
import type { TextOptions } from './text.js';
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
  /** An existing SentencePiece model file (copied into the cache directory). */
  | { kind: 'sentencepiece'; model: string }
  /** Train a SentencePiece model on the train split (kept in the cache directory). */
  | {
      kind: 'sentencepiece';
      vocabSize: number;
      modelType?: 'unigram' | 'bpe';
      inputSentenceSize?: number;
      maxSentenceLength?: number;
    };

/** What every split's preparation takes from the corpus' (prepareSplit's options, documented there). */
export interface PrepareCorpusOptions
  extends Pick<
    PrepareSplitOptions,
    'cacheDir' | 'onTokenizerMismatch' | 'lenientUtf8' | 'onLog' | 'onProgress'
  > {
  /** Directory with wiki.*.tokens, wiki.*.raw or Hugging Face parquet shards. */
  dataDir: string;
  tokenizer: TokenizerSpec;
  splits?: readonly SplitName[];
}

export interface PreparedCorpus {
  tokenizer: Tokenizer;
  splits: Partial<Record<SplitName, SplitManifest>>;
}

/**
 * `tokenizer.json`: how the cache's tokenizer file was made and its sha256. A user's model is
 * recorded by where it was copied from, not as `model` (readers load the cache's copy).
 */
interface TokenizerManifest {
  spec: Exclude<TokenizerSpec, { model: string }> | { kind: 'sentencepiece'; copiedFrom: string };
  trainSources: SourceFileIdentity[];
  file: string;
  sha256: string;
}

/** The tokenizer file of an earlier prepare when it was made the same way and is intact. */
async function reusableTokenizerFile(
  cacheDir: string,
  spec: TokenizerSpec,
  trainSources: SourceFileIdentity[],
  onLog?: (message: string) => void,
): Promise<string | null> {
  let manifest: TokenizerManifest;
  try {
    manifest = JSON.parse(await readFile(join(cacheDir, 'tokenizer.json'), 'utf8'));
  } catch {
    return null; // no manifest yet (or a torn one): build the tokenizer
  }
  const same =
    JSON.stringify(manifest.spec) === JSON.stringify(spec) &&
    JSON.stringify(manifest.trainSources) === JSON.stringify(trainSources);
  if (!same) return null;
  const path = join(cacheDir, manifest.file);
  const sha256 = await sha256File(path).catch(() => null);
  if (sha256 === manifest.sha256) return path;
  onLog?.(`${path} is missing or does not match the sha256 in tokenizer.json: making it again`);
  return null;
}

async function writeTokenizerManifest(cacheDir: string, manifest: TokenizerManifest) {
  await writeFileAtomic(join(cacheDir, 'tokenizer.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A user's model, copied into the cache so that the cache holds the tokenizer it was made with. */
async function copyUserModel(cacheDir: string, model: string): Promise<Tokenizer> {
  const tokenizer = await loadSentencePiece(model);
  const file = 'spm.model';
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(join(cacheDir, file), tokenizer.model);
  await writeTokenizerManifest(cacheDir, {
    spec: { kind: 'sentencepiece', copiedFrom: resolve(model) },
    trainSources: [],
    file,
    sha256: tokenizer.identity.checksum,
  });
  return tokenizer;
}

/**
 * The tokenizer a spec asks for. A word vocabulary, a trained SentencePiece model or a copy of
 * the given one is saved in cacheDir (`vocab.txt` / `spm.model` + `tokenizer.json` with its
 * sha256); a made one is reused while the spec and the train split's bytes are unchanged and
 * the file still matches its sha256.
 */
export async function resolveTokenizer(
  dataDir: string,
  cacheDir: string,
  spec: TokenizerSpec,
  onLog?: (message: string) => void,
  text: TextOptions = {},
): Promise<Tokenizer> {
  sweepStaleTemps(cacheDir);
  if (spec.kind === 'sentencepiece' && 'model' in spec) return copyUserModel(cacheDir, spec.model);
  const train = await locateSplit(dataDir, 'train');
  const trainSources = await identifySources(train);
  const existing = await reusableTokenizerFile(cacheDir, spec, trainSources, onLog);
  await mkdir(cacheDir, { recursive: true });
  let file: string;
  if (spec.kind === 'word') {
    if (existing) return new WordTokenizer(await loadWordVocab(existing));
    onLog?.(`building the word vocabulary from ${train.files.join(', ')}`);
    const words = buildWordVocab(
      await countWords(readSourceLines(train, text)),
      spec.minCount ?? 1,
    );
    file = 'vocab.txt';
    await saveWordVocab(join(cacheDir, file), words);
  } else {
    if (existing) return loadSentencePiece(existing);
    onLog?.(`training a ${spec.vocabSize}-piece SentencePiece model on ${train.files.join(', ')}`);
    file = 'spm.model';
    await trainSentencePiece(readSourceLines(train, text), {
      modelPrefix: join(cacheDir, 'spm'),
      vocabSize: spec.vocabSize,
      modelType: spec.modelType,
      inputSentenceSize: spec.inputSentenceSize,
      maxSentenceLength: spec.maxSentenceLength,
      onWarning: onLog,
    });
  }
  const path = join(cacheDir, file);
  await writeTokenizerManifest(cacheDir, {
    spec,
    trainSources,
    file,
    sha256: await sha256File(path),
  });
  return spec.kind === 'word'
    ? new WordTokenizer(await loadWordVocab(path))
    : loadSentencePiece(path);
}

/** Resolves the tokenizer, then prepares (or reuses) each split's token cache. */
export async function prepareCorpus(options: PrepareCorpusOptions): Promise<PreparedCorpus> {
  // The tokenizer passes only count or train on the text; the split manifests count replacements.
  const tokenizer = await resolveTokenizer(
    options.dataDir,
    options.cacheDir,
    options.tokenizer,
    options.onLog,
    options.lenientUtf8 ? { lenientUtf8: { replaced: 0 } } : {},
  );
  const splits: Partial<Record<SplitName, SplitManifest>> = {};
  for (const split of options.splits ?? SPLITS) {
    const result = await prepareSplit({
      dataDir: options.dataDir,
      split,
      tokenizer,
      cacheDir: options.cacheDir,
      onTokenizerMismatch: options.onTokenizerMismatch,
      lenientUtf8: options.lenientUtf8,
      onLog: options.onLog,
      onProgress: options.onProgress,
    });
    splits[split] = result.manifest;
  }
  return { tokenizer, splits };
}
