import { restoreTokenizer, type SerializedTokenizer, type Tokenizer } from '@urgate/wikitext';

/** A request the server refuses with 400: the message names the field and what was expected. */
export class BadRequestError extends Error {
  readonly statusCode = 400;
}

/**
 * The tokenizer an exported model was trained with, from its metadata (`serializeTokenizer`
 * JSON, carried over from the checkpoint), or null when the metadata holds none that can be
 * restored: such a model takes token ids only.
 */
export async function modelTokenizer(
  metadataTokenizer: unknown,
): Promise<{ tokenizer: Tokenizer | null; reason: string | null }> {
  const saved = metadataTokenizer as Partial<SerializedTokenizer> | null;
  if (saved === null || saved === undefined)
    return { tokenizer: null, reason: 'the model metadata carries no tokenizer' };
  if (saved.kind !== 'word' && saved.kind !== 'sentencepiece')
    return {
      tokenizer: null,
      reason: `the model metadata's tokenizer is not a serialized word or sentencepiece tokenizer (${JSON.stringify(saved).slice(0, 80)})`,
    };
  // A serialized tokenizer that does not restore (wrong checksum) is corrupt metadata: say so loudly.
  return { tokenizer: await restoreTokenizer(saved as SerializedTokenizer), reason: null };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function lines(text: string, field: string): string[] {
  if (LONE_SURROGATE.test(text))
    throw new BadRequestError(
      `${field} cannot be encoded: it holds a lone UTF-16 surrogate (not valid Unicode text)`,
    );
  const out = text.split(/\r?\n/);
  if (out.length > 1 && out[out.length - 1] === '') out.pop(); // a final newline ends the last line
  return out;
}

function encodeLine(tokenizer: Tokenizer, line: string, field: string): number[] {
  const ids = tokenizer.encodeLine(line);
  if (ids.length === 0 && line.trim() !== '')
    throw new BadRequestError(
      `${field} cannot be encoded: the tokenizer gives no tokens for ${JSON.stringify(line.slice(0, 40))}`,
    );
  return ids;
}

/**
 * Token ids of a prompt: `<eos>` (the stream starts as after a line end), then each line's ids,
 * lines separated by `<eos>`. The last line is left open so the model continues it.
 */
export function encodePrompt(tokenizer: Tokenizer, prompt: string): number[] {
  const ids = [tokenizer.eosId];
  lines(prompt, 'prompt').forEach((line, k) => {
    if (k > 0) ids.push(tokenizer.eosId);
    ids.push(...encodeLine(tokenizer, line, 'prompt'));
  });
  return ids;
}

/**
 * Token ids of a text to score, as the WikiText caches hold it: `<eos>` first (so the first real
 * token is predicted), then each line's ids followed by its end-of-line `<eos>`. `words` is the
 * word-level perplexity's N: whitespace-separated words plus one `<eos>` per line.
 */
export function encodeText(tokenizer: Tokenizer, text: string): { ids: number[]; words: number } {
  const ids = [tokenizer.eosId];
  let words = 0;
  for (const line of lines(text, 'text')) {
    ids.push(...encodeLine(tokenizer, line, 'text'), tokenizer.eosId);
    words += line.split(/\s+/).filter(Boolean).length + 1;
  }
  return { ids, words };
}

/** Refuses token ids outside the vocabulary before any inference. */
export function checkTokens(tokens: readonly number[], vocabSize: number, field: string): void {
  const k = tokens.findIndex((t) => !(Number.isInteger(t) && t >= 0 && t < vocabSize));
  if (k >= 0)
    throw new BadRequestError(
      `${field}[${k}] = ${tokens[k]} is outside the vocabulary [0, ${vocabSize})`,
    );
}
