import { loadSentencePieceBytes, SentencePieceTokenizer } from './sentencepiece.js';
import type { Tokenizer } from './tokenizer.js';
import { WordTokenizer } from './wordVocab.js';

/**
 * A tokenizer as plain JSON, e.g. for a checkpoint's `tokenizer` metadata, so that evaluation
 * and serving encode text exactly as training did without the cache directory.
 */
export type SerializedTokenizer =
  | { kind: 'word'; checksum: string; words: string[] }
  | { kind: 'sentencepiece'; checksum: string; modelBase64: string };

export function serializeTokenizer(tokenizer: Tokenizer): SerializedTokenizer {
  if (tokenizer instanceof WordTokenizer) {
    return { kind: 'word', checksum: tokenizer.identity.checksum, words: [...tokenizer.words] };
  }
  if (tokenizer instanceof SentencePieceTokenizer) {
    return {
      kind: 'sentencepiece',
      checksum: tokenizer.identity.checksum,
      modelBase64: Buffer.from(tokenizer.model).toString('base64'),
    };
  }
  throw new Error('serializeTokenizer: expected a WordTokenizer or a SentencePieceTokenizer');
}

/** Rebuilds a serialized tokenizer and checks that it is the one that was saved. */
export async function restoreTokenizer(saved: SerializedTokenizer): Promise<Tokenizer> {
  let tokenizer: Tokenizer;
  if (saved?.kind === 'word' && Array.isArray(saved.words))
    tokenizer = new WordTokenizer(saved.words);
  else if (saved?.kind === 'sentencepiece' && typeof saved.modelBase64 === 'string') {
    tokenizer = await loadSentencePieceBytes(
      Buffer.from(saved.modelBase64, 'base64'),
      'serialized tokenizer',
    );
  } else {
    throw new Error(
      'serialized tokenizer must be {kind: "word", words} or {kind: "sentencepiece", modelBase64}',
    );
  }
  if (tokenizer.identity.checksum !== saved.checksum) {
    throw new Error(
      `serialized ${saved.kind} tokenizer does not match its checksum ${saved.checksum.slice(0, 12)} (corrupt metadata)`,
    );
  }
  return tokenizer;
}
