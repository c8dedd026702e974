import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCifar10Batch, readIdxImages, readIdxLabels } from '../src/index.js';
import { cifarBytes, idxBytes } from './formats.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'urgate-tasks-readers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('IDX reader', () => {
  // 3 images of 2x4, pixel value = 10*image + 4*row + col.
  const pixels = Uint8Array.from({ length: 24 }, (_, i) => 10 * Math.floor(i / 8) + (i % 8));
  const images = idxBytes(0x03, [3, 2, 4], pixels);
  const labels = idxBytes(0x01, [3], Uint8Array.of(7, 0, 9));

  it('reads images and labels, plain and gzipped, with the same result', async () => {
    for (const gz of [false, true]) {
      const enc = (b: Uint8Array) => (gz ? gzipSync(b) : b);
      const img = await readIdxImages(await put(`i${gz}`, enc(images)));
      expect(img).toMatchObject({ count: 3, height: 2, width: 4 });
      expect(Array.from(img.pixels)).toEqual(Array.from(pixels));
      expect(Array.from(await readIdxLabels(await put(`l${gz}`, enc(labels))))).toEqual([7, 0, 9]);
    }
  });

  it('rejects a wrong magic number, naming the file and the expected format', async () => {
    const path = await put('swapped', labels);
    await expect(readIdxImages(path)).rejects.toThrow(
      `${path}: wrong magic number 0x00000801, expected an IDX file of unsigned bytes with 3 dimensions (magic 0x00000803)`,
    );
    const floats = Uint8Array.from(images);
    floats[2] = 0x0d;
    await expect(readIdxImages(await put('floats', floats))).rejects.toThrow(
      /wrong magic number 0x00000d03/,
    );
  });

  it('rejects truncated files (data, header, gzip stream) and trailing bytes', async () => {
    const short = await put('short', images.subarray(0, images.length - 1));
    await expect(readIdxImages(short)).rejects.toThrow(
      `${short}: truncated: ${images.length - 1} bytes, expected ${images.length} for dimensions 3x2x4`,
    );
    const header = await put('header', images.subarray(0, 10));
    await expect(readIdxImages(header)).rejects.toThrow(
      `${header}: truncated header: 10 bytes, expected 16`,
    );
    const gz = gzipSync(images);
    const cut = await put('cut.gz', gz.subarray(0, gz.length - 8));
    await expect(readIdxImages(cut)).rejects.toThrow(`${cut}: corrupt or truncated gzip data`);
    const long = await put('long', Uint8Array.of(...labels, 1));
    await expect(readIdxLabels(long)).rejects.toThrow(`${long}: 1 unexpected trailing bytes`);
  });

  it('reports a missing file with what was expected', async () => {
    const path = join(dir, 'nope');
    await expect(readIdxLabels(path)).rejects.toThrow(
      `${path}: file not found (expected IDX labels (idx1-ubyte, optionally gzipped))`,
    );
  });
});

describe('CIFAR-10 reader', () => {
  // Two records; record n has label 3+n and plane c pixel p = (50*c + p + n) % 256.
  const planes = (n: number) =>
    Uint8Array.from({ length: 3072 }, (_, i) => (50 * Math.floor(i / 1024) + (i % 1024) + n) % 256);
  const bytes = cifarBytes([3, 4], [planes(0), planes(1)]);

  it('reads records into RGB-interleaved pixels, plain and gzipped', async () => {
    for (const gz of [false, true]) {
      const batch = await readCifar10Batch(await put(`c${gz}`, gz ? gzipSync(bytes) : bytes));
      expect(batch.count).toBe(2);
      expect(Array.from(batch.labels)).toEqual([3, 4]);
      for (const [n, p, c] of [
        [0, 0, 0],
        [0, 0, 2],
        [1, 1023, 1],
        [1, 37, 2],
      ]) {
        expect(batch.pixels[(n * 1024 + p) * 3 + c]).toBe((50 * c + p + n) % 256);
      }
    }
  });

  it('rejects truncated files and bad labels', async () => {
    const short = await put('short.bin', bytes.subarray(0, 3073 + 100));
    await expect(readCifar10Batch(short)).rejects.toThrow(
      `${short}: truncated or not a CIFAR-10 batch: 3173 bytes is not a positive multiple of 3073-byte records`,
    );
    const bad = Uint8Array.from(bytes);
    bad[3073] = 10;
    const badPath = await put('bad.bin', bad);
    await expect(readCifar10Batch(badPath)).rejects.toThrow(
      `${badPath}: record 1 has label 10, expected a class in 0..9`,
    );
    const missing = join(dir, 'data_batch_9.bin');
    await expect(readCifar10Batch(missing)).rejects.toThrow(`${missing}: file not found`);
  });
});
