/**
 * The inverse of `wikitextTokenize`: WikiText tokens (words and punctuation separated by spaces,
 * `@-@` / `@,@` / `@.@` inside words and numbers, clitics split off) rendered as prose, one word
 * at a time, so that a stream of generated words can be shown as it grows.
 */

/** Separators inside a word or number: no space on either side. */
const INNER: ReadonlyMap<string, string> = new Map([
  ['@-@', '-'],
  ['@,@', ','],
  ['@.@', '.'],
]);

/** Attach to the word before: closing punctuation and clitics (`do n't` -> `don't`). */
const GLUE_LEFT = /^([.,;:!?%)\]}]|n't|'s|'re|'ve|'ll|'d|'m)$/i;

/** Attach to the word after: opening brackets and signs. */
const GLUE_RIGHT = /^[([{$#]$/;

const QUOTES = new Set(['"', "'"]);

/** Every word that renders other than "space + itself" (lowercase: clitics match any case). */
export const WIKITEXT_SPECIAL_WORDS: readonly string[] = [
  ...INNER.keys(),
  ...QUOTES,
  ...'.,;:!?%)]}([{$#',
  "n't",
  "'s",
  "'re",
  "'ve",
  "'ll",
  "'d",
  "'m",
];

/**
 * Renders the words of WikiText lines as text: `word(w)` returns what `w` adds to its line
 * (a space unless it attaches to its neighbour, then its surface form); `newline()` starts a line.
 * Quotes alternate between opening (attached to the next word) and closing (to the previous one)
 * within a line.
 */
export class WikitextDetokenizer {
  private lineStart = true;
  private glueNext = false;
  private previous = '';
  private readonly open = new Set<string>();

  word(w: string): string {
    let surface = w;
    let left = false;
    let right = false;
    const inner = INNER.get(w);
    if (inner !== undefined) {
      surface = inner;
      left = right = true;
    } else if (QUOTES.has(w)) {
      // A lone apostrophe after a plural is a possessive (`states '` -> `states'`), not a quote.
      const possessive = w === "'" && !this.open.has(w) && /s$/i.test(this.previous);
      if (this.open.has(w) || possessive) {
        left = true;
        this.open.delete(w);
      } else {
        right = true;
        this.open.add(w);
      }
    } else if (GLUE_LEFT.test(w)) left = true;
    else if (GLUE_RIGHT.test(w)) right = true;
    const space = this.lineStart || left || this.glueNext ? '' : ' ';
    this.lineStart = false;
    this.glueNext = right;
    this.previous = w;
    return space + surface;
  }

  newline(): void {
    this.lineStart = true;
    this.glueNext = false;
    this.previous = '';
    this.open.clear();
  }

  clone(): WikitextDetokenizer {
    const copy = new WikitextDetokenizer();
    copy.lineStart = this.lineStart;
    copy.glueNext = this.glueNext;
    copy.previous = this.previous;
    for (const q of this.open) copy.open.add(q);
    return copy;
  }
}

/** One line's WikiText tokens as prose: `wikitextDetokenize(wikitextTokenize(s))` gives `s` back for ordinary text. */
export function wikitextDetokenize(words: readonly string[]): string {
  const r = new WikitextDetokenizer();
  return words.map((w) => r.word(w)).join('');
}
