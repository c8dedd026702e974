import { restoreTokenizer, type SerializedTokenizer, type Tokenizer } from '@urgate/wikitext';

/** A request the server refuses with 400: the message names the field and what was expected. */
export class BadRequestError extends Error {
  readonly statusCode = 400;

  /** `param`: the request field at fault. */
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
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
      field,
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
      field,
    );
  return ids;
}

/**
 * Token ids of a prompt: `<eos>` (the stream starts as after a line end), then each line's ids,
 * lines separated by `<eos>`. The last line is left open so the model continues it.
 */
export function encodePrompt(tokenizer: Tokenizer, prompt: string, field = 'prompt'): number[] {
  const ids = [tokenizer.eosId];
  lines(prompt, field).forEach((line, k) => {
    if (k > 0) ids.push(tokenizer.eosId);
    ids.push(...encodeLine(tokenizer, line, field));
  });
  return ids;
}

/** Refuses token ids outside the vocabulary before any inference. */
export function checkTokens(tokens: readonly number[], vocabSize: number, field: string): void {
  const k = tokens.findIndex((t) => !(Number.isInteger(t) && t >= 0 && t < vocabSize));
  if (k >= 0)
    throw new BadRequestError(
      `${field}[${k}] = ${tokens[k]} is outside the vocabulary [0, ${vocabSize})`,
      field,
    );
}

// Text of a token depends on the tokens before it on its line (a space before a word, a
// SentencePiece "▁"); this many suffice.
const LINE_WINDOW = 32;

/**
 * Turns a token stream into text one token at a time: the text each token adds, such that the
 * pieces join to the tokenizer's `decode` of the stream (an `<eos>` is "\n", except as the first
 * token of a stream, where no line has started).
 */
export class Detokenizer {
  private line: number[];
  private lineText: string;
  private started: boolean;

  /**
   * `context`: tokens already read whose text is not wanted (a prompt that is not echoed). Without
   * a tokenizer, a token's text is its id, after a space unless it starts the stream.
   */
  constructor(
    private readonly tokenizer: Tokenizer | null,
    context: readonly number[] = [],
  ) {
    const lineStart = tokenizer ? context.lastIndexOf(tokenizer.eosId) + 1 : 0;
    this.line = context.slice(Math.max(lineStart, context.length - LINE_WINDOW));
    this.lineText = tokenizer ? tokenizer.decode(this.line) : '';
    this.started = context.length > 0;
  }

  /** The text `token` would add next, without reading it. */
  peek(token: number): string {
    if (!this.tokenizer) return this.started ? ` ${token}` : String(token);
    if (token === this.tokenizer.eosId) return this.started ? '\n' : '';
    return this.tokenizer.decode([...this.line, token]).slice(this.lineText.length);
  }

  /** Reads `token` and returns the text it adds. */
  push(token: number): string {
    const text = this.peek(token);
    this.started = true;
    if (!this.tokenizer) return text;
    if (token === this.tokenizer.eosId) {
      this.line = [];
      this.lineText = '';
    } else {
      this.line.push(token);
      if (this.line.length > LINE_WINDOW) {
        this.line.shift();
        this.lineText = this.tokenizer.decode(this.line);
      } else this.lineText += text;
    }
    return text;
  }
}

/**
 * Cuts generated text at the first of the `stop` strings. Text that could be the start of a stop
 * string is held back until the next piece tells, so a stream never shows part of a stop string.
 */
export class StopMatcher {
  private text = '';
  private sent = 0;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds a piece; returns the text that can be sent now and whether a stop string ended the text. */
  push(piece: string): { text: string; stopped: boolean } {
    this.text += piece;
    let at = -1;
    for (const stop of this.stops) {
      const k = this.text.indexOf(stop, this.sent);
      if (k >= 0 && (at < 0 || k < at)) at = k;
    }
    if (at >= 0) {
      const text = this.text.slice(this.sent, at);
      this.text = this.text.slice(0, at);
      this.sent = at;
      return { text, stopped: true };
    }
    let hold = 0;
    for (const stop of this.stops)
      for (let k = Math.min(stop.length - 1, this.text.length - this.sent); k > hold; k--)
        if (this.text.endsWith(stop.slice(0, k))) {
          hold = k;
          break;
        }
    const safe = this.text.length - hold;
    const text = this.text.slice(this.sent, safe);
    this.sent = Math.max(this.sent, safe);
    return { text, stopped: false };
  }

  /** The held-back text, once no more pieces come. */
  flush(): string {
    const text = this.text.slice(this.sent);
    this.sent = this.text.length;
    return text;
  }
}
