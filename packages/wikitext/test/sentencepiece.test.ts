import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadPreparedSplit,
  loadSentencePiece,
  parseModelPieces,
  prepareCorpus,
  prepareSplit,
  readLines,
  restoreTokenizer,
  serializeTokenizer,
  splitLongLine,
  trainSentencePiece,
  WordTokenizer,
  writeSotuCorpus,
} from '../src/index.js';
import { collect, FIXTURE, fileText, removeDir, tempDir, writeTextRelease } from './fixtures.js';

let root: string;
let modelPath: string;
let warnings: string[];
beforeAll(async () => {
  root = await tempDir();
  // Train on the embedded corpus' valid split (~200 kB) plus the fixture and one over-long line.
  await writeSotuCorpus(join(root, 'sotu'));
  const lines = await collect(readLines(join(root, 'sotu', 'wiki.valid.tokens')));
  const longLine = ` ${Array.from({ length: 600 }, (_, i) => `w${i % 50}`).join(' ')} `;
  warnings = [];
  const result = await trainSentencePiece(
    (async function* () {
      yield* lines;
      yield* FIXTURE.train;
      yield longLine;
    })(),
    {
      modelPrefix: join(root, 'tiny'),
      vocabSize: 400,
      maxSentenceLength: 2048,
      onWarning: (m) => warnings.push(m),
    },
  );
  modelPath = result.modelPath;
  expect(result.linesSplit).toBe(1);
});
afterAll(() => removeDir(root));

describe('SentencePiece', () => {
  it('keeps WikiText symbols whole, renames the built-in unknown and ends lines with <eos>', async () => {
    const pieces = parseModelPieces(await readFile(modelPath)).map((p) => p.piece);
    expect(pieces.slice(0, 6)).toEqual(['<spm-unk>', '<eos>', '<unk>', '@-@', '@,@', '@.@']);
    expect(pieces.length).toBe(400);
    const tok = await loadSentencePiece(modelPath);
    expect(tok.eosId).toBe(1);
    expect(tok.vocabSize).toBe(400);
    expect(warnings.join()).toMatch(
      /1 training lines were longer than max_sentence_length \(2048 bytes\)/,
    );
  });

  it('encodes exactly like spm_encode, line by line', async () => {
    const tok = await loadSentencePiece(modelPath);
    const lines = [
      ...FIXTURE.train,
      ...(await collect(readLines(join(root, 'sotu', 'wiki.test.tokens')))).slice(0, 200),
    ];
    const input = join(root, 'encode.txt');
    await writeFile(input, fileText(lines));
    const expected = execFileSync(
      'spm_encode',
      [`--model=${modelPath}`, '--output_format=id', `--input=${input}`],
      {
        encoding: 'utf8',
      },
    )
      .split('\n')
      .slice(0, lines.length)
      .map((l) => (l === '' ? [] : l.split(' ').map(Number)));
    expect(lines.map((l) => tok.encodeLine(l))).toEqual(expected);
    expect(tok.encodeLine(' @-@ <unk> @,@ @.@ ')).toEqual(expect.arrayContaining([2, 3, 4, 5]));
  });

  it('decodes ids back to the text, lines ended by <eos>', async () => {
    const tok = await loadSentencePiece(modelPath);
    const ids = [
      ...tok.encodeLine(' The people of the United States . '),
      tok.eosId,
      ...tok.encodeLine(' 3 @,@ 000 '),
    ];
    expect(tok.decode(ids)).toBe('The people of the United States .\n3 @,@ 000');
  });

  it('round-trips through serializeTokenizer / restoreTokenizer', async () => {
    const tok = await loadSentencePiece(modelPath);
    const saved = JSON.parse(JSON.stringify(serializeTokenizer(tok)));
    expect(await restoreTokenizer(saved)).toBe(tok); // same content: the loaded instance
    const word = new WordTokenizer(['<unk>', '<eos>', 'a', 'b']);
    const restored = await restoreTokenizer(JSON.parse(JSON.stringify(serializeTokenizer(word))));
    expect(restored.identity).toEqual(word.identity);
    expect(restored.encodeLine(' b a c ')).toEqual([3, 2, 0]);
    await expect(
      restoreTokenizer({ kind: 'word', checksum: 'f00', words: ['<unk>', '<eos>'] }),
    ).rejects.toThrow(/does not match its checksum f00/);
  });

  it('loads a model once per process', async () => {
    const a = await loadSentencePiece(modelPath);
    const copy = join(root, 'copy.model');
    await writeFile(copy, await readFile(modelPath));
    expect(await loadSentencePiece(copy)).toBe(a);
  });

  it('prepares a split whose word count stays the word-level N', async () => {
    const data = join(root, 'fixture');
    await writeTextRelease(data, 'tokens');
    const tok = await loadSentencePiece(modelPath);
    const { manifest } = await prepareSplit({
      dataDir: data,
      split: 'train',
      tokenizer: tok,
      cacheDir: join(root, 'cache'),
    });
    expect(manifest.counts.words).toBe(64);
    expect(manifest.counts.articles).toBe(2);
    expect(manifest.tokenizer.kind).toBe('sentencepiece');
    const split = await loadPreparedSplit(join(root, 'cache'), 'train');
    const expected = FIXTURE.train.flatMap((l) => [...tok.encodeLine(l), 1]);
    expect(Array.from(split.ids)).toEqual(expected);
    expect(split.articleStarts[0]).toBe(1); // after the first blank line's <eos>
  });

  it('identical prepares in two places give byte-identical models and caches', async () => {
    // The sotu valid split as the train split: enough text for a 300-piece model.
    const data = join(root, 'spm-data');
    await writeTextRelease(data, 'tokens');
    await writeFile(
      join(data, 'wiki.train.tokens'),
      await readFile(join(root, 'sotu', 'wiki.valid.tokens')),
    );
    const caches = [join(root, 'spm-a'), join(root, 'elsewhere', 'spm-b')];
    const prepared = [];
    for (const cacheDir of caches) {
      prepared.push(
        await prepareCorpus({
          dataDir: data,
          cacheDir,
          tokenizer: { kind: 'sentencepiece', vocabSize: 300 },
        }),
      );
    }
    expect(prepared[1].tokenizer.identity).toEqual(prepared[0].tokenizer.identity);
    const [a, b] = caches;
    const model = await readFile(join(a, 'spm.model'));
    expect(model.includes(Buffer.from(a))).toBe(false); // no temp or cache path inside
    for (const file of ['spm.model', 'train.ids.i32', 'valid.json', 'test.articles.u32'])
      expect(await readFile(join(b, file)), file).toEqual(await readFile(join(a, file)));
    // Training left nothing behind but the model, its .vocab and the caches.
    expect((await readdir(a)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('uses a given model: copied into the cache, its checksum the cache identity', async () => {
    const cacheDir = join(root, 'given');
    const data = join(root, 'fixture-given');
    await writeTextRelease(data, 'tokens');
    const corpus = await prepareCorpus({
      dataDir: data,
      cacheDir,
      tokenizer: { kind: 'sentencepiece', model: modelPath },
    });
    const bytes = await readFile(modelPath);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(await readFile(join(cacheDir, 'spm.model'))).toEqual(bytes);
    expect(corpus.splits.train?.tokenizer).toEqual({
      kind: 'sentencepiece',
      checksum: sha256,
      vocabSize: 400,
    });
    expect(JSON.parse(await readFile(join(cacheDir, 'tokenizer.json'), 'utf8'))).toEqual({
      spec: { kind: 'sentencepiece', copiedFrom: modelPath },
      trainSources: [],
      file: 'spm.model',
      sha256,
    });
  });

  it('rejects files that are not models, naming them', async () => {
    const empty = join(root, 'empty.model');
    await writeFile(empty, '');
    await expect(loadSentencePiece(empty)).rejects.toThrow(
      `SentencePiece model ${empty} does not encode`,
    );
    const garbage = join(root, 'garbage.model');
    await writeFile(
      garbage,
      Buffer.from('this is not a protobuf model at all, just text\n'.repeat(20)),
    );
    await expect(loadSentencePiece(garbage)).rejects.toThrow(garbage);
    await expect(loadSentencePiece(join(root, 'absent.model'))).rejects.toThrow(
      /absent\.model does not exist/,
    );
  });

  it('cuts long lines at word boundaries within the byte limit', () => {
    expect(splitLongLine(' aa bb cc dd ', 5)).toEqual(['aa bb', 'cc dd']);
    expect(splitLongLine(' aaaaaaa b ', 5)).toEqual(['aaaaaaa', 'b']);
  });
});
