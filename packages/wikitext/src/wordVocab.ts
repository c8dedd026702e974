import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@urgate/files';
import { lineWords } from './article.js';
import { sha256Text } from './checksum.js';
import type { Tokenizer, TokenizerIdentity } from './tokenizer.js';

export const UNK = '<unk>';
export const EOS = '<eos>';

/** Counts the words of the given lines (the train split), not counting `<eos>`. */
export async function countWords(lines: AsyncIterable<string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const line of lines) {
    for (const word of lineWords(line)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/**
 * Word vocabulary, ids in a fixed order: 0 = `<unk>`, 1 = `<eos>`, then every word with count
 * >= minCount by descending count, ties broken by code-unit (String `<`) order. Words below
 * minCount map to `<unk>`; so does a literal `<unk>` in the text.
 */
export function buildWordVocab(counts: Map<string, number>, minCount = 1): string[] {
  if (!Number.isInteger(minCount) || minCount < 1) {
    throw new Error(`minCount must be a positive integer, got ${minCount}`);
  }
  const kept = [...counts].filter(([w, c]) => c >= minCount && w !== UNK && w !== EOS);
  kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [UNK, EOS, ...kept.map(([w]) => w)];
}

function vocabFileText(words: readonly string[]): string {
  return `${words.join('\n')}\n`;
}

/** One word per line, in id order (words never contain whitespace). */
export async function saveWordVocab(path: string, words: readonly string[]): Promise<void> {
  await writeFileAtomic(path, vocabFileText(words));
}

export async function loadWordVocab(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  const words = text.split('\n');
  if (words.pop() !== '' || words[0] !== UNK || words[1] !== EOS) {
    throw new Error(
      `vocabulary file ${path} is not a word vocabulary (expected "${UNK}", "${EOS}", then one word per line)`,
    );
  }
  return words;
}

export class WordTokenizer implements Tokenizer {
  readonly identity: TokenizerIdentity;
  readonly unkId = 0;
  readonly unknownIds = [0];
  readonly eosId = 1;
  private readonly ids: Map<string, number>;

  constructor(readonly words: readonly string[]) {
    if (words[0] !== UNK || words[1] !== EOS) {
      throw new Error(`word vocabulary must start with "${UNK}", "${EOS}"`);
    }
    this.ids = new Map(words.map((w, i) => [w, i]));
    this.identity = {
      kind: 'word',
      checksum: sha256Text(vocabFileText(words)),
      vocabSize: words.length,
    };
  }

  get vocabSize(): number {
    return this.words.length;
  }

  encodeLine(line: string): number[] {
    return this.encodeWords(lineWords(line));
  }

  encodeWords(words: readonly string[]): number[] {
    return words.map((w) => this.ids.get(w) ?? this.unkId);
  }

  decode(ids: Iterable<number>): string {
    let out = '';
    let lineStart = true;
    for (const id of ids) {
      if (id === this.eosId) {
        out += '\n';
        lineStart = true;
      } else {
        out += (lineStart ? '' : ' ') + (this.words[id] ?? UNK);
        lineStart = false;
      }
    }
    return out;
  }
}
