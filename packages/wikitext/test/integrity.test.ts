import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rejectsInOneLine } from '@urgate/test-checks';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  invalidUtf8Offsets,
  loadPreparedSplit,
  prepareCorpus,
  prepareSplit,
  readLines,
  readSplitLines,
  WordTokenizer,
} from '../src/index.js';
import { collect, removeDir, tempDir, writeTextRelease } from './fixtures.js';

let root: string;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(() => removeDir(root));

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('strict text input', () => {
  it('refuses invalid UTF-8 naming the file, the line and the byte offset', async () => {
    const path = join(root, 'bad.tokens');
    // Line 3 starts at byte 4 + 5 = 9; its lone continuation byte 0x80 is at 9 + 3 = 12.
    const bytes = Buffer.concat([
      Buffer.from('a b\n é \n'), // é is 2 bytes: line 2 is 5 bytes with its newline
      Buffer.from('xy '),
      Buffer.from([0x80]),
      Buffer.from(' z\nlast\n'),
    ]);
    await writeFile(path, bytes);
    await rejectsInOneLine(
      collect(readLines(path)),
      new RegExp(`^${literal(path)} line 3, byte offset 12: invalid UTF-8`),
    );
    // The same in a final line without a newline, found after the last full chunk.
    await writeFile(path, Buffer.concat([Buffer.from('ok\nno'), Buffer.from([0xc3])]));
    await rejectsInOneLine(collect(readLines(path)), /line 2, byte offset 5: invalid UTF-8/);
  });

  it('finds the line and offset of a bad byte past the first 1 MiB chunk', async () => {
    const path = join(root, 'far.tokens');
    const line = `${'ü'.repeat(1000)}\n`; // 2001 bytes
    const good = Buffer.from(line.repeat(700)); // 1.4 MB: the bad byte is in the second chunk
    await writeFile(path, Buffer.concat([good, Buffer.from('ab'), Buffer.from([0xff, 0x0a])]));
    await rejectsInOneLine(
      collect(readLines(path)),
      new RegExp(`line 701, byte offset ${good.length + 2}: invalid UTF-8`),
    );
  });

  it('refuses a binary file (/bin/ls as wiki.train.tokens) at its first NUL byte', async () => {
    const data = join(root, 'binary');
    await writeTextRelease(data, 'tokens');
    await copyFile('/bin/ls', join(data, 'wiki.train.tokens'));
    const ls = await readFile('/bin/ls');
    const nul = ls.indexOf(0);
    const line = 1 + ls.subarray(0, nul).filter((b) => b === 10).length;
    const cacheDir = join(data, 'cache');
    await rejectsInOneLine(
      prepareCorpus({ dataDir: data, cacheDir, tokenizer: { kind: 'word' } }),
      new RegExp(
        `wiki\\.train\\.tokens line ${line}, byte offset ${nul}: NUL byte: binary data, not text`,
      ),
    );
    // Lenient UTF-8 does not make binary data text.
    await rejectsInOneLine(
      prepareCorpus({ dataDir: data, cacheDir, tokenizer: { kind: 'word' }, lenientUtf8: true }),
      /NUL byte: binary data/,
    );
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });

  it('--lenient-utf8 replaces invalid sequences, counts them and records them in the manifest', async () => {
    const data = join(root, 'lenient');
    await writeTextRelease(data, 'tokens');
    // 0xC3 0x28: a lead byte cut short (1 replacement); 0xF0 0x9F 0x98: a 4-byte sequence cut
    // short (1 replacement for the three bytes, as TextDecoder writes it).
    await writeFile(
      join(data, 'wiki.valid.tokens'),
      Buffer.concat([
        Buffer.from(' = Gamma = \n a '),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(' b '),
        Buffer.from([0xf0, 0x9f, 0x98]),
        Buffer.from(' \n'),
      ]),
    );
    const cacheDir = join(data, 'cache');
    const tokenizer = { kind: 'word' } as const;
    await rejectsInOneLine(
      prepareCorpus({ dataDir: data, cacheDir, tokenizer }),
      /wiki\.valid\.tokens line 2, byte offset 15: invalid UTF-8/,
    );
    const corpus = await prepareCorpus({ dataDir: data, cacheDir, tokenizer, lenientUtf8: true });
    expect(corpus.splits.valid?.replacedUtf8).toBe(2);
    expect(corpus.splits.train?.replacedUtf8).toBe(0);
    expect(await collect(readSplitLines(data, 'valid', { lenientUtf8: { replaced: 0 } }))).toEqual([
      ' = Gamma = ',
      ' a \uFFFD( b \uFFFD ',
    ]);
    // A strict prepare does not reuse the lenient cache: it rebuilds, and refuses the bytes.
    await rejectsInOneLine(prepareCorpus({ dataDir: data, cacheDir, tokenizer }), /invalid UTF-8/);
  });

  it('counts invalid sequences exactly as TextDecoder replaces them', () => {
    // Independent truth: the WHATWG decoder's U+FFFD count (less the genuine EF BF BD ones).
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let trial = 0; trial < 200; trial++) {
      const bytes = Uint8Array.from({ length: 64 }, () =>
        next() % 3 === 0 ? next() % 128 : 0x80 + (next() % 128),
      );
      const decoded = new TextDecoder().decode(bytes);
      let genuine = 0;
      for (let i = 0; i + 2 < bytes.length; i++)
        if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) genuine++;
      const replaced = [...decoded].filter((c) => c === '\uFFFD').length - genuine;
      expect(invalidUtf8Offsets(bytes).length).toBe(replaced);
    }
  });
});

describe('parquet errors', () => {
  it('name the file and the row (counted across row groups)', async () => {
    const dir = join(root, 'pq');
    await mkdir(dir, { recursive: true });
    const rows = Array.from({ length: 10 }, (_, i) => Buffer.from(` row ${i} \n`));
    rows[6] = Buffer.concat([Buffer.from(' bad '), Buffer.from([0xfe]), Buffer.from('\n')]);
    const path = join(dir, 'test-00000-of-00001.parquet');
    // One text column in row groups of 4 rows, and reading it back as the test split.
    const write = (data: (Buffer | string | null)[], type: 'BYTE_ARRAY' | 'STRING') =>
      parquetWriteFile({
        filename: path,
        columnData: [{ name: 'text', data, type }],
        rowGroupSize: 4,
      });
    const read = () => collect(readSplitLines(dir, 'test'));
    write(rows, 'BYTE_ARRAY');
    await rejectsInOneLine(
      read(),
      new RegExp(`^parquet file ${literal(path)}, row 6, byte offset 5 of its text: invalid UTF-8`),
    );
    rows[6] = Buffer.from(' nul \0 \n');
    write(rows, 'BYTE_ARRAY');
    await rejectsInOneLine(read(), /, row 6, byte offset 5 .*: NUL byte/);
    write(['a', 'b', 'c', 'd', 'e', null, 'g'], 'STRING');
    await rejectsInOneLine(read(), /, row 5: "text" value is not a string/);
    await writeFile(path, 'PAR1 this is not a parquet file');
    await rejectsInOneLine(read(), new RegExp(`^parquet file ${literal(path)}: `));
  });
});

describe('cache checksums', () => {
  let data: string;
  let cacheDir: string;
  const tokenizer = new WordTokenizer(['<unk>', '<eos>', '=', '.', 'text']);
  beforeAll(async () => {
    data = join(root, 'checked');
    await writeTextRelease(data, 'tokens');
    cacheDir = join(data, 'cache');
  });
  const prepare = () => prepareSplit({ dataDir: data, split: 'train', tokenizer, cacheDir });

  it('an edited manifest (words halved) is refused by load and rebuilt by prepare', async () => {
    await prepare();
    const mpath = join(cacheDir, 'train.json');
    const manifest = JSON.parse(await readFile(mpath, 'utf8'));
    const words = manifest.counts.words;
    manifest.counts.words = Math.floor(words / 2);
    await writeFile(mpath, JSON.stringify(manifest, null, 2));
    await rejectsInOneLine(
      loadPreparedSplit(cacheDir, 'train'),
      new RegExp(`^${literal(mpath)} was edited or is corrupt`),
    );
    const again = await prepare();
    expect(again.rebuilt).toBe(true);
    expect(again.reason).toMatch(/was edited or is corrupt/);
    expect((await loadPreparedSplit(cacheDir, 'train')).manifest.counts.words).toBe(words);
  });

  it('an ids or article-starts file altered in place (same size) is refused by load and rebuilt by prepare', async () => {
    for (const file of ['train.ids.i32', 'train.articles.u32']) {
      await prepare();
      const path = join(cacheDir, file);
      const bytes = await readFile(path);
      bytes[bytes.length - 4] ^= 0x01;
      await writeFile(path, bytes);
      await rejectsInOneLine(
        loadPreparedSplit(cacheDir, 'train'),
        new RegExp(`^${literal(path)} does not match the sha256 recorded in .*train\\.json`),
      );
      const again = await prepare();
      expect(again.rebuilt).toBe(true);
      expect(again.reason).toBe(
        `${file} does not match the sha256 in ${join(cacheDir, 'train.json')}`,
      );
      expect((await loadPreparedSplit(cacheDir, 'train')).ids.length).toBe(64);
    }
  });

  it('a version 1 cache (no checksums) is refused by load, naming the manifest', async () => {
    await prepare();
    const mpath = join(cacheDir, 'train.json');
    const manifest = JSON.parse(await readFile(mpath, 'utf8'));
    manifest.version = 1;
    await writeFile(mpath, JSON.stringify(manifest));
    await rejectsInOneLine(
      loadPreparedSplit(cacheDir, 'train'),
      new RegExp(`^${literal(mpath)} is a version 1 cache manifest, expected version 2`),
    );
  });

  it('temporaries of killed writers are swept at the start; a running writer keeps its own', async () => {
    // A process that has exited gives a pid that is (for the moment) free.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const stale = [`train.ids.i32.tmp-${dead}-0123abcd`, `spm.train.tmp-${dead}-89abcdef`];
    // Another prepare still running: a live process of its own.
    const writer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const live = `train.json.tmp-${writer.pid}-00000000`;
      await mkdir(join(cacheDir, stale[1]), { recursive: true });
      await writeFile(join(cacheDir, stale[1], 'input.txt'), 'a copy of the text\n');
      await writeFile(join(cacheDir, stale[0]), 'half');
      await writeFile(join(cacheDir, live), 'being written');
      await prepare();
      const names = await readdir(cacheDir);
      for (const name of stale) expect(names).not.toContain(name);
      expect(names).toContain(live);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
