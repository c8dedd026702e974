/** Whitespace-separated words of a WikiText line (the format's own tokenisation). */
export function lineWords(line: string): string[] {
  const trimmed = line.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/**
 * True when `words` (of one line) open a new article: ` = Title = ` but not a section
 * heading ` = = Section = = `. The format rule is t[0] == "=" && t[last] == "=" && t[1] != "=";
 * a title needs at least one word between the "=" marks, so a lone "=" or "= =" is not one.
 */
export function isArticleHeading(words: readonly string[]): boolean {
  const n = words.length;
  return n >= 3 && words[0] === '=' && words[n - 1] === '=' && words[1] !== '=';
}
