/** What a prepared cache records about the tokenizer that made it. */
export interface TokenizerIdentity {
  kind: 'word' | 'sentencepiece';
  /** sha256 of the vocabulary file (word) or of the .model file (sentencepiece). */
  checksum: string;
  vocabSize: number;
}

/** Turns one WikiText line into token ids; the end-of-line token is added by the caller. */
export interface Tokenizer {
  readonly identity: TokenizerIdentity;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly unkId: number;
  /**
   * Every id that stands for an unknown word, which a sampler must not produce unless asked: the
   * tokenizer's own unknown id and, for SentencePiece, WikiText's `<unk>` (a piece of its own, so
   * that a text's `<unk>` stays a word).
   */
  readonly unknownIds: readonly number[];
  encodeLine(line: string): number[];
  /**
   * Text of a sequence of ids, each end-of-line id as "\n": words joined by spaces (word
   * level) or pieces concatenated with "▁" read as a space (sentencepiece).
   */
  decode(ids: Iterable<number>): string;
}

export function sameTokenizer(a: TokenizerIdentity, b: TokenizerIdentity): boolean {
  return a.kind === b.kind && a.checksum === b.checksum && a.vocabSize === b.vocabSize;
}

export function describeTokenizer(id: TokenizerIdentity): string {
  const what = id.kind === 'word' ? 'vocabulary' : 'model';
  return `${id.kind} tokenizer (${id.vocabSize} ids, ${what} sha256 ${id.checksum.slice(0, 12)})`;
}
