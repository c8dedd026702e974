export { isArticleHeading, lineWords } from './article.js';
export {
  type Batch,
  evalBatches,
  evalLayout,
  type Segment,
  type StreamLayout,
  trainBatches,
  trainLayout,
  windowCount,
  windows,
} from './batching.js';
export {
  loadPreparedSplit,
  type MismatchPolicy,
  manifestPath,
  type PreparedSplit,
  type PrepareProgress,
  type PrepareSplitOptions,
  type PrepareSplitResult,
  prepareSplit,
  type SourceFileIdentity,
  type SplitCounts,
  type SplitManifest,
} from './cache.js';
export { sha256File } from './checksum.js';
export {
  type PrepareCorpusOptions,
  type PreparedCorpus,
  prepareCorpus,
  resolveTokenizer,
  type TokenizerSpec,
} from './corpus.js';
export { readLines } from './lines.js';
export { readParquetTextLines } from './parquet.js';
export {
  NllAccumulator,
  type PerplexityCounts,
  type PerplexityReport,
  perplexityReport,
  scoringStream,
} from './perplexity.js';
export {
  loadSentencePiece,
  loadSentencePieceBytes,
  SentencePieceTokenizer,
  type SentencePieceTrainOptions,
  type SentencePieceTrainResult,
  SPM_EOS_PIECE,
  SPM_UNK_PIECE,
  splitLongLine,
  trainSentencePiece,
  WIKITEXT_SYMBOLS,
} from './sentencepiece.js';
export { restoreTokenizer, type SerializedTokenizer, serializeTokenizer } from './serialize.js';
export {
  prepareCorpusOrSotu,
  type SotuCorpusOptions,
  type SotuCorpusResult,
  writeSotuCorpus,
} from './sotu.js';
export {
  locateSplit,
  readSourceLines,
  readSplitLines,
  type SourceFormat,
  SPLITS,
  type SplitName,
  type SplitSource,
} from './splits.js';
export { type ModelPiece, parseModelPieces } from './spmModel.js';
export { invalidUtf8Offsets, type TextOptions } from './text.js';
export {
  describeTokenizer,
  sameTokenizer,
  type Tokenizer,
  type TokenizerIdentity,
} from './tokenizer.js';
export {
  WIKITEXT_SPECIAL_WORDS,
  WikitextDetokenizer,
  wikitextDetokenize,
} from './wikiDetokenize.js';
export { splitSentences, wikitextTokenize } from './wikiTokenize.js';
export {
  buildWordVocab,
  countWords,
  EOS,
  loadWordVocab,
  saveWordVocab,
  UNK,
  WordTokenizer,
} from './wordVocab.js';
