import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCorpus, splitSentences, wikitextTokenize, writeSotuCorpus } from '../src/index.js';
import { removeDir, tempDir } from './fixtures.js';

describe('WikiText-style tokenisation', () => {
  it('separates punctuation and marks in-word hyphens and numeric separators', () => {
    expect(wikitextTokenize('The well-known "Act," costs $1,250.75 (about 3.5%).')).toEqual([
      'The',
      'well',
      '@-@',
      'known',
      '"',
      'Act',
      ',',
      '"',
      'costs',
      '$',
      '1',
      '@,@',
      '250',
      '@.@',
      '75',
      '(',
      'about',
      '3',
      '@.@',
      '5',
      '%',
      ')',
      '.',
    ]);
  });

  it('splits clitics, keeps abbreviations, normalises quotes and stands dashes alone', () => {
    expect(
      wikitextTokenize('We don’t know Mr. Smith’s plan for the U.S. President—(applause)—no.'),
    ).toEqual([
      'We',
      'do',
      "n't",
      'know',
      'Mr.',
      'Smith',
      "'s",
      'plan',
      'for',
      'the',
      'U.S.',
      'President',
      '—',
      '(',
      'applause',
      ')',
      '—',
      'no',
      '.',
    ]);
    expect(wikitextTokenize('naïve café')).toEqual(['naïve', 'café']);
  });

  it('splits sentences but not after abbreviations', () => {
    expect(
      splitSentences('Mr. Speaker, thank you. We met in the U.S. Senate! Why? "Because."'),
    ).toEqual(['Mr. Speaker, thank you.', 'We met in the U.S. Senate!', 'Why?', '"Because."']);
  });
});

describe('embedded State of the Union corpus', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => removeDir(dir));

  it('writes WikiText-format splits, one article per speech, split by year', async () => {
    const result = await writeSotuCorpus(dir);
    expect(result.speeches).toEqual({
      train: { count: 223, firstYear: 1790, lastYear: 2011 },
      valid: { count: 5, firstYear: 2012, lastYear: 2016 },
      test: { count: 5, firstYear: 2017, lastYear: 2021 },
    });
    const test = await readFile(result.files.test, 'utf8');
    expect(test.startsWith(' \n = Donald J Trump 2017 = \n \n ')).toBe(true);
    expect(test).toContain('\n = Joseph R Biden 2021 = \n');
    const lines = test.split('\n').slice(0, -1);
    expect(lines.every((l) => l.startsWith(' ') && (l === ' ' || l.endsWith(' ')))).toBe(true);
    const corpus = await prepareCorpus({
      dataDir: dir,
      cacheDir: join(dir, 'cache'),
      tokenizer: { kind: 'word' },
    });
    expect(corpus.splits.train?.counts.articles).toBe(223);
    expect(corpus.splits.valid?.counts.articles).toBe(5);
    expect(corpus.splits.test?.counts.articles).toBe(5);
    // Words seen fewer than 3 times in train became <unk> (headings keep their names).
    expect(test).toContain(' <unk> ');
    const train = await readFile(result.files.train, 'utf8');
    const counts = new Map<string, number>();
    for (const w of train.split(/\s+/)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
    const rare = train
      .split('\n')
      .filter((l) => !l.startsWith(' = '))
      .flatMap((l) => l.split(' '))
      .filter((w) => w && w !== '<unk>' && (counts.get(w) ?? 0) < 3);
    expect(rare).toEqual([]);
  });

  it('unkBelow 0 keeps every word: the same text with the words <unk> stood for', async () => {
    const raw = await tempDir();
    await writeSotuCorpus(raw, { unkBelow: 0 });
    for (const split of ['train', 'valid', 'test']) {
      const kept = (await readFile(join(raw, `wiki.${split}.tokens`), 'utf8')).split(' ');
      const unked = (await readFile(join(dir, `wiki.${split}.tokens`), 'utf8')).split(' ');
      expect(kept).not.toContain('<unk>');
      expect(kept).toHaveLength(unked.length);
      expect(kept.filter((w, k) => w !== unked[k]).length).toBe(
        unked.filter((w) => w === '<unk>').length,
      );
    }
    await removeDir(raw);
  });

  it('is deterministic', async () => {
    const again = await tempDir();
    await writeSotuCorpus(again);
    for (const split of ['train', 'valid', 'test']) {
      expect(await readFile(join(again, `wiki.${split}.tokens`), 'utf8')).toBe(
        await readFile(join(dir, `wiki.${split}.tokens`), 'utf8'),
      );
    }
    await removeDir(again);
  });
});
