import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isArticleHeading,
  lineWords,
  locateSplit,
  readLines,
  readSplitLines,
} from '../src/index.js';
import {
  collect,
  FIXTURE,
  releases,
  removeDir,
  TRAIN_COUNTS,
  tempDir,
  writeParquet,
} from './fixtures.js';

let root: string;
beforeAll(async () => {
  root = await releases('tokens', 'raw', 'parquet');
});
afterAll(() => removeDir(root));

describe('readLines', () => {
  it('yields lines without terminators, handles CRLF and a missing final newline', async () => {
    const path = join(root, 'crlf.txt');
    await writeFile(path, 'a b\r\n\r\n é \nlast');
    expect(await collect(readLines(path))).toEqual(['a b', '', ' é ', 'last']);
  });

  it('keeps multi-byte characters and long lines intact across 1 MiB read chunks', async () => {
    const path = join(root, 'big.txt');
    const lines = Array.from({ length: 30_000 }, (_, i) => ` é 日本 ${i} ${'ü'.repeat(i % 97)} `);
    lines.push(` ${'語'.repeat(700_000)} `); // one line longer than a chunk
    lines.push(' end ');
    await writeFile(path, lines.map((l) => `${l}\n`).join(''));
    expect(await collect(readLines(path))).toEqual(lines);
  });

  it('does not invent an empty line after a final newline', async () => {
    const path = join(root, 'nl.txt');
    await writeFile(path, 'x\n\n');
    expect(await collect(readLines(path))).toEqual(['x', '']);
  });
});

describe('split readers', () => {
  it('read the .tokens release line for line', async () => {
    for (const split of ['train', 'valid', 'test'] as const) {
      expect(await collect(readSplitLines(join(root, 'tokens'), split))).toEqual(FIXTURE[split]);
    }
  });

  it('read the same lines from the -raw and the parquet layouts', async () => {
    for (const split of ['train', 'valid', 'test'] as const) {
      expect(await collect(readSplitLines(join(root, 'raw'), split))).toEqual(FIXTURE[split]);
      expect(await collect(readSplitLines(join(root, 'parquet'), split))).toEqual(FIXTURE[split]);
    }
  });

  it('match parquet shards by split name, in shard order', async () => {
    const source = await locateSplit(join(root, 'parquet'), 'train');
    expect(source.format).toBe('parquet');
    expect(source.files.map((f) => f.split('/').pop())).toEqual([
      'train-00000-of-00002.parquet',
      'train-00001-of-00002.parquet',
    ]);
    expect((await locateSplit(join(root, 'parquet'), 'valid')).files[0]).toMatch(
      /validation-00000-of-00001\.parquet$/,
    );
  });

  it('name the directory and the expected files when a split is missing', async () => {
    const dir = await tempDir();
    await expect(locateSplit(dir, 'valid')).rejects.toThrow(
      `no valid split in ${dir}: expected wiki.valid.tokens, wiki.valid.raw or validation*.parquet`,
    );
    await removeDir(dir);
    await expect(locateSplit(join(root, 'nowhere'), 'train')).rejects.toThrow(
      /nowhere does not exist/,
    );
  });

  it('reject a parquet file without a text column', async () => {
    const dir = await tempDir();
    const { parquetWriteFile } = await import('hyparquet-writer');
    parquetWriteFile({
      filename: join(dir, 'test.parquet'),
      columnData: [{ name: 'content', data: ['a'], type: 'STRING' }],
    });
    await expect(collect(readSplitLines(dir, 'test'))).rejects.toThrow(
      /test\.parquet has no "text" column \(columns: content\)/,
    );
    await removeDir(dir);
  });

  it('read an empty parquet split as no lines (the cache step rejects it)', async () => {
    const dir = await tempDir();
    writeParquet(join(dir, 'test.parquet'), []);
    expect(await collect(readSplitLines(dir, 'test'))).toEqual([]);
    await removeDir(dir);
  });
});

describe('article boundaries', () => {
  it('follow t[0] == "=" && t[last] == "=" && t[1] != "="', () => {
    expect(isArticleHeading(lineWords(' = Valkyria Chronicles III = '))).toBe(true);
    expect(isArticleHeading(lineWords(' = = Gameplay = = '))).toBe(false);
    expect(isArticleHeading(lineWords(' = = = Sub = = = '))).toBe(false);
    expect(isArticleHeading(lineWords(' a = b = '))).toBe(false);
    expect(isArticleHeading(lineWords(' = a '))).toBe(false);
    expect(isArticleHeading(lineWords(' '))).toBe(false);
    expect(isArticleHeading(lineWords(' = = '))).toBe(false);
  });

  it('find exactly the fixture articles', () => {
    const headings = FIXTURE.train
      .map((l, i) => (isArticleHeading(lineWords(l)) ? i : -1))
      .filter((i) => i >= 0);
    expect(headings).toEqual([1, 13]);
    expect(headings.length).toBe(TRAIN_COUNTS.articles);
  });
});
