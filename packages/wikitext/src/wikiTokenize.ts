/**
 * WikiText-style tokenisation of plain English prose: words and punctuation separated by
 * spaces, `@-@` for a hyphen inside a word, `@,@` / `@.@` for a thousands separator / decimal
 * point between digits, clitics split off (`do n't`, `nation 's`), curly quotes and apostrophes
 * made ASCII.
 */

const ABBREVIATIONS = new Set([
  'Mr.',
  'Mrs.',
  'Ms.',
  'Dr.',
  'St.',
  'Jr.',
  'Sr.',
  'Gen.',
  'Gov.',
  'Sen.',
  'Rep.',
  'Hon.',
  'Lt.',
  'Col.',
  'Capt.',
  'Messrs.',
  'No.',
  'Nos.',
  'vs.',
  'etc.',
  'viz.',
  'Co.',
  'Inc.',
  'Ltd.',
  'Jan.',
  'Feb.',
  'Mar.',
  'Apr.',
  'Jun.',
  'Jul.',
  'Aug.',
  'Sept.',
  'Sep.',
  'Oct.',
  'Nov.',
  'Dec.',
]);

const LEADING = /^["'([{$#]/;
const TRAILING = /[.,;:!?"')\]}%]$/;
const CLITIC = /^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$/i;

/** Abbreviations and initialisms ("U.S.", "A.") keep their final period. */
function keepsPeriod(word: string): boolean {
  return ABBREVIATIONS.has(word) || /^([A-Za-z]\.)+$/.test(word);
}

function normalise(text: string): string {
  return text
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2010\u2011]/g, '-')
    .replace(/[\u00a0\u2009\u202f]/g, ' ');
}

/** Splits a word core (no surrounding punctuation) on hyphens and numeric separators. */
function splitInner(core: string): string[] {
  const out: string[] = [];
  for (const [i, part] of core.split(/-/).entries()) {
    if (i > 0) out.push('@-@');
    if (part === '') continue;
    const pieces = part.split(/(?<=\d)([,.])(?=\d)/);
    for (const piece of pieces) {
      if (piece === ',') out.push('@,@');
      else if (piece === '.') out.push('@.@');
      else if (piece !== '') out.push(piece);
    }
  }
  return out;
}

function tokenizeChunk(chunk: string): string[] {
  const lead: string[] = [];
  const trail: string[] = [];
  let word = chunk;
  while (word.length > 0 && LEADING.test(word)) {
    lead.push(word[0]);
    word = word.slice(1);
  }
  while (word.length > 0 && TRAILING.test(word) && !(word.endsWith('.') && keepsPeriod(word))) {
    trail.unshift(word[word.length - 1]);
    word = word.slice(0, -1);
  }
  const core: string[] = [];
  if (word !== '') {
    const clitic = CLITIC.exec(word);
    if (clitic && !/^'/.test(clitic[1])) core.push(...splitInner(clitic[1]), clitic[2]);
    else core.push(...splitInner(word));
  }
  return [...lead, ...core, ...trail];
}

export function wikitextTokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const chunk of normalise(text).split(/\s+/)) {
    if (chunk === '') continue;
    // Dashes and bullets stand alone even when written without spaces ("President—(applause)—no").
    for (const part of chunk.split(/([\u2013\u2014\u2022]|--)/)) {
      if (part === '') continue;
      if (/^([\u2013\u2014\u2022]|--)$/.test(part)) tokens.push(part === '--' ? '\u2014' : part);
      else tokens.push(...tokenizeChunk(part));
    }
  }
  return tokens;
}

/**
 * Sentences of a paragraph: a break after . ! or ? (and closing quotes/brackets) followed by
 * whitespace and a capital letter, digit or opening quote, unless the word is an abbreviation.
 */
export function splitSentences(text: string): string[] {
  const words = normalise(text)
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const sentences: string[] = [];
  let current: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    current.push(word);
    const next = words[i + 1];
    const ends = /[.!?]["')\]]*$/.test(word) && !keepsPeriod(word.replace(/["')\]]+$/, ''));
    if (ends && (next === undefined || /^["'([]?[A-Z0-9]/.test(next))) {
      sentences.push(current.join(' '));
      current = [];
    }
  }
  if (current.length > 0) sentences.push(current.join(' '));
  return sentences;
}
