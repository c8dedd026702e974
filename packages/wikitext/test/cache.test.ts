import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWordVocab,
  countWords,
  loadPreparedSplit,
  prepareCorpus,
  prepareSplit,
  readSplitLines,
  WordTokenizer,
} from '../src/index.js';
import {
  releases,
  removeDir,
  TEST_COUNTS,
  TRAIN_COUNTS,
  tempDir,
  VALID_COUNTS,
  writeTextRelease,
} from './fixtures.js';

let root: string;
beforeAll(async () => {
  root = await releases('tokens', 'parquet');
});
afterAll(() => removeDir(root));

describe('word vocabulary', () => {
  it('orders ids <unk>, <eos>, then by descending count, ties by code-unit order', async () => {
    const words = buildWordVocab(await countWords(readSplitLines(join(root, 'tokens'), 'train')));
    // "=" x14, "." x4, "text" x2, then the count-1 words: "000" < "1" < "3" < "5" < "@,@" ...
    expect(words.slice(0, 10)).toEqual([
      '<unk>',
      '<eos>',
      '=',
      '.',
      'text',
      '000',
      '1',
      '3',
      '5',
      '@,@',
    ]);
    // 28 distinct words besides the literal <unk> (listed in fixtures.ts), plus <unk> and <eos>.
    expect(words.length).toBe(30);
    expect(words.slice(-2)).toEqual(['日本', '語']);
  });

  it('maps words below minCount and unseen words to <unk>', async () => {
    const words = buildWordVocab(
      await countWords(readSplitLines(join(root, 'tokens'), 'train')),
      2,
    );
    expect(words).toEqual(['<unk>', '<eos>', '=', '.', 'text']);
    const tok = new WordTokenizer(words);
    expect(tok.encodeLine(' = Unseen text <unk> . ')).toEqual([2, 0, 4, 0, 3]);
    expect(() => buildWordVocab(new Map(), 0)).toThrow(/minCount must be a positive integer/);
  });
});

describe('prepared-data cache', () => {
  it('writes ids, article starts and hand-checked counts; .tokens and parquet agree', async () => {
    const cacheA = join(root, 'cache-tokens');
    const cacheB = join(root, 'cache-parquet');
    const a = await prepareCorpus({
      dataDir: join(root, 'tokens'),
      cacheDir: cacheA,
      tokenizer: { kind: 'word' },
    });
    const b = await prepareCorpus({
      dataDir: join(root, 'parquet'),
      cacheDir: cacheB,
      tokenizer: { kind: 'word' },
    });
    expect(a.tokenizer.identity).toEqual(b.tokenizer.identity);
    for (const [split, expected] of [
      ['train', TRAIN_COUNTS],
      ['valid', VALID_COUNTS],
      ['test', TEST_COUNTS],
    ] as const) {
      const pa = await loadPreparedSplit(cacheA, split);
      const pb = await loadPreparedSplit(cacheB, split);
      const bytes = (await stat(join(root, 'tokens', `wiki.${split}.tokens`))).size;
      expect(pa.manifest.counts).toEqual({
        lines: expected.lines,
        tokens: expected.tokens,
        words: expected.tokens,
        bytes,
        articles: expected.articles,
      });
      expect(pb.manifest.counts).toEqual(pa.manifest.counts);
      expect(Array.from(pa.articleStarts)).toEqual(expected.articleStarts);
      expect(Array.from(pb.ids)).toEqual(Array.from(pa.ids));
      expect(Array.from(pb.articleStarts)).toEqual(expected.articleStarts);
      expect(pa.manifest.sourceFormat).toBe('tokens');
      expect(pb.manifest.sourceFormat).toBe('parquet');
    }
    // Spot-check ids against the vocabulary: line 2 is "= Alpha Article =" after the blank line's <eos>.
    const train = await loadPreparedSplit(cacheA, 'train');
    const tok = a.tokenizer as WordTokenizer;
    expect(tok.decode(train.ids.subarray(0, 6))).toBe('\n= Alpha Article =\n');
    expect(train.ids[train.ids.length - 1]).toBe(tok.eosId);
    const manifest = JSON.parse(await readFile(join(cacheA, 'train.json'), 'utf8'));
    expect(manifest.sources[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.tokenizer).toEqual({
      kind: 'word',
      checksum: tok.identity.checksum,
      vocabSize: 30,
    });
    expect((await readdir(cacheA)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('is reused while sources are unchanged and rebuilt when a source changes', async () => {
    const data = join(root, 'mutable');
    const cacheDir = join(root, 'cache-mutable');
    await writeTextRelease(data, 'tokens');
    const words = buildWordVocab(await countWords(readSplitLines(data, 'train')));
    const tokenizer = new WordTokenizer(words);
    const first = await prepareSplit({ dataDir: data, split: 'valid', tokenizer, cacheDir });
    expect(first.rebuilt).toBe(true);
    const second = await prepareSplit({ dataDir: data, split: 'valid', tokenizer, cacheDir });
    expect(second.rebuilt).toBe(false);
    await appendFile(join(data, 'wiki.valid.tokens'), ' more words . \n');
    const third = await prepareSplit({ dataDir: data, split: 'valid', tokenizer, cacheDir });
    expect(third.rebuilt).toBe(true);
    expect(third.reason).toMatch(/source files changed/);
    expect(third.manifest.counts.lines).toBe(VALID_COUNTS.lines + 1);
    expect(third.manifest.counts.tokens).toBe(VALID_COUNTS.tokens + 4);
  });

  it('rebuilds or refuses a cache made by another tokenizer, saying which', async () => {
    const data = join(root, 'tokens');
    const cacheDir = join(root, 'cache-switch');
    const counts = await countWords(readSplitLines(data, 'train'));
    const full = new WordTokenizer(buildWordVocab(counts, 1));
    const small = new WordTokenizer(buildWordVocab(counts, 2));
    await prepareSplit({ dataDir: data, split: 'test', tokenizer: full, cacheDir });
    await expect(
      prepareSplit({
        dataDir: data,
        split: 'test',
        tokenizer: small,
        cacheDir,
        onTokenizerMismatch: 'error',
      }),
    ).rejects.toThrow(
      /was built with the word tokenizer \(30 ids, .*but the word tokenizer \(5 ids/,
    );
    const logs: string[] = [];
    const rebuilt = await prepareSplit({
      dataDir: data,
      split: 'test',
      tokenizer: small,
      cacheDir,
      onLog: (m) => logs.push(m),
    });
    expect(rebuilt.rebuilt).toBe(true);
    expect(rebuilt.reason).toMatch(/30 ids.*5 ids/);
    expect(logs.join('\n')).toMatch(/preparing test split/);
    expect(rebuilt.manifest.tokenizer.vocabSize).toBe(5);
  });

  it('rebuilds over a corrupt manifest and reports progress to the end', async () => {
    const data = join(root, 'tokens');
    const cacheDir = join(root, 'cache-corrupt');
    const tokenizer = new WordTokenizer(['<unk>', '<eos>', '=']);
    await prepareSplit({ dataDir: data, split: 'valid', tokenizer, cacheDir });
    await writeFile(join(cacheDir, 'valid.json'), '{ not json');
    await expect(loadPreparedSplit(cacheDir, 'valid')).rejects.toThrow(
      /valid\.json is not valid JSON/,
    );
    const progress: { bytes: number; totalBytes: number | null }[] = [];
    const result = await prepareSplit({
      dataDir: data,
      split: 'valid',
      tokenizer,
      cacheDir,
      onProgress: (p) => progress.push(p),
    });
    expect(result.reason).toMatch(/existing manifest unusable: .*valid\.json is not valid JSON/);
    const size = (await stat(join(data, 'wiki.valid.tokens'))).size;
    expect(progress.at(-1)).toEqual({
      split: 'valid',
      lines: VALID_COUNTS.lines,
      bytes: size,
      totalBytes: size,
    });
  });

  it('rejects an empty split and a missing cache with one-line errors', async () => {
    const data = await tempDir();
    await writeTextRelease(data, 'tokens');
    await writeFile(join(data, 'wiki.test.tokens'), '');
    const tokenizer = new WordTokenizer(['<unk>', '<eos>']);
    await expect(
      prepareSplit({ dataDir: data, split: 'test', tokenizer, cacheDir: join(data, 'c') }),
    ).rejects.toThrow(/test split is empty: .*wiki\.test\.tokens has no lines/);
    expect((await readdir(join(data, 'c'))).length).toBe(0);
    await expect(loadPreparedSplit(join(data, 'c'), 'valid')).rejects.toThrow(
      /no prepared valid split in .*valid\.json is missing/,
    );
    await removeDir(data);
  });

  it('reuses the saved word vocabulary while the train split is unchanged', async () => {
    const cacheDir = join(root, 'cache-vocab');
    const logs: string[] = [];
    const a = await prepareCorpus({
      dataDir: join(root, 'tokens'),
      cacheDir,
      tokenizer: { kind: 'word' },
      onLog: (m) => logs.push(m),
    });
    const n = logs.length;
    const b = await prepareCorpus({
      dataDir: join(root, 'tokens'),
      cacheDir,
      tokenizer: { kind: 'word' },
      onLog: (m) => logs.push(m),
    });
    expect(logs.length).toBe(n);
    expect(b.tokenizer.identity).toEqual(a.tokenizer.identity);
    const c = await prepareCorpus({
      dataDir: join(root, 'tokens'),
      cacheDir,
      tokenizer: { kind: 'word', minCount: 2 },
    });
    expect(c.tokenizer.vocabSize).toBe(5);
  });
});
