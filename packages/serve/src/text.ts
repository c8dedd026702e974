import {
  restoreTokenizer,
  type SerializedTokenizer,
  type Tokenizer,
  WIKITEXT_SPECIAL_WORDS,
  WikitextDetokenizer,
  wikitextTokenize,
} from '@urgate/wikitext';

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
  // A final newline is kept: "a\n" is the line "a", then an empty line the model starts.
  return text.split(/\r?\n/);
}

/** A line of prose in the corpus' WikiText form (`1,000` -> `1 @,@ 000`, `don't` -> `do n't`), then ids. */
function encodeLine(tokenizer: Tokenizer, line: string, field: string): number[] {
  const ids = tokenizer.encodeLine(wikitextTokenize(line).join(' '));
  if (ids.length === 0 && line.trim() !== '')
    throw new BadRequestError(
      `${field} cannot be encoded: the tokenizer gives no tokens for ${JSON.stringify(line.slice(0, 40))}`,
      field,
    );
  return ids;
}

/**
 * Token ids of a prompt: `<eos>` (the stream starts as after a line end), then each line's ids in
 * WikiText form (the form urgate's corpora are in), lines separated by `<eos>`. The last line is
 * left open so the model continues it; a prompt ending in a newline ends with `<eos>`.
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

// Raw text of a token depends on the tokens before it on its line (a space before a word, a
// SentencePiece "▁"); this many suffice.
const LINE_WINDOW = 32;

/** A partial word that may still turn out to render differently from itself (`n` of `n't`, `@` of `@,@`). */
function maySpecial(partial: string): boolean {
  const p = partial.toLowerCase();
  return WIKITEXT_SPECIAL_WORDS.some((w) => w.startsWith(p));
}

/**
 * Turns a token stream into readable text one token at a time: the text each token adds. The
 * tokenizer's words are rendered the way the corpus was tokenized (WikiText: `1 @,@ 000` is
 * `1,000`, no space before punctuation, `do n't` is `don't`; `wikitextDetokenize`), and an
 * `<eos>` is "\n" (nothing as the first token of a stream, where no line has started). A
 * SentencePiece word that could still become punctuation is held until the next piece tells;
 * `flush()` gives what is held at the end.
 */
export class Detokenizer {
  private line: number[] = [];
  private lineText = '';
  private started: boolean;
  private words = new WikitextDetokenizer();
  /** The word being read (SentencePiece: pieces up to the next space); `shown`: its text was given out. */
  private word = '';
  private shown = false;
  /** Every token is a whole word (word tokenizer): no word is held. */
  private readonly wholeWords: boolean;

  /**
   * `context`: tokens already read whose text is not wanted (a prompt that is not echoed); its line
   * is rendered so that attachment and quotes carry over. Without a tokenizer, a token's text is
   * its id, after a space unless it starts the stream.
   */
  constructor(
    private readonly tokenizer: Tokenizer | null,
    context: readonly number[] = [],
  ) {
    this.wholeWords = tokenizer?.identity.kind === 'word';
    this.started = context.length > 0;
    if (!tokenizer) return;
    for (const t of context.slice(context.lastIndexOf(tokenizer.eosId) + 1)) this.push(t);
    // A word of the context still held is the context's text: what follows it is appended.
    if (this.word !== '') this.shown = true;
  }

  /** The text `token` would add next, without reading it. */
  peek(token: number): string {
    const saved = {
      line: [...this.line],
      lineText: this.lineText,
      started: this.started,
      words: this.words.clone(),
      word: this.word,
      shown: this.shown,
    };
    const text = this.push(token);
    Object.assign(this, saved);
    return text;
  }

  /** Reads `token` and returns the text it adds. */
  push(token: number): string {
    const started = this.started;
    this.started = true;
    if (!this.tokenizer) return started ? ` ${token}` : String(token);
    if (token === this.tokenizer.eosId) {
      const text = this.endWord() + (started ? '\n' : '');
      this.words.newline();
      this.line = [];
      this.lineText = '';
      return text;
    }
    this.line.push(token);
    const lineText = this.tokenizer.decode(this.line);
    const raw = lineText.slice(this.lineText.length);
    if (this.line.length > LINE_WINDOW) {
      this.line.shift();
      this.lineText = this.tokenizer.decode(this.line);
    } else this.lineText = lineText;
    return this.rawText(raw);
  }

  /** The text held back at the end of the stream. */
  flush(): string {
    return this.endWord();
  }

  private rawText(raw: string): string {
    let out = '';
    raw.split(' ').forEach((part, k) => {
      if (k > 0) out += this.endWord();
      if (this.shown) out += part;
      this.word += part;
    });
    if (this.wholeWords) out += this.endWord();
    else if (!this.shown && this.word !== '' && !maySpecial(this.word)) {
      out += this.words.word(this.word);
      this.shown = true;
    }
    return out;
  }

  private endWord(): string {
    const text = this.word !== '' && !this.shown ? this.words.word(this.word) : '';
    this.word = '';
    this.shown = false;
    return text;
  }
}

/**
 * The readable text of a token stream (as `Detokenizer` gives it piece by piece); `context`: the
 * tokens before it (a prompt), read but not rendered.
 */
export function detokenize(
  tokenizer: Tokenizer | null,
  ids: readonly number[],
  context: readonly number[] = [],
): string {
  const d = new Detokenizer(tokenizer, context);
  return ids.map((t) => d.push(t)).join('') + d.flush();
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
