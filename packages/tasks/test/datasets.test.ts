import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_DIR, loadImageDataset, pixelBatch } from '../src/index.js';
import { cifarBytes, idxBytes } from './formats.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'urgate-tasks-datasets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** MNIST-style directory: `count` train and 3 test images of 28x28; image n is filled with n. */
async function writeMnist(at: string, count: number, labelCount = count): Promise<void> {
  await mkdir(at, { recursive: true });
  const images = (k: number) =>
    idxBytes(
      3,
      [k, 28, 28],
      Uint8Array.from({ length: k * 784 }, (_, i) => Math.floor(i / 784)),
    );
  const labels = (k: number) =>
    idxBytes(
      1,
      [k],
      Uint8Array.from({ length: k }, (_, i) => i % 10),
    );
  await writeFile(join(at, 'train-images-idx3-ubyte.gz'), gzipSync(images(count)));
  await writeFile(join(at, 'train-labels-idx1-ubyte'), labels(labelCount));
  await writeFile(join(at, 't10k-images-idx3-ubyte'), images(3));
  await writeFile(join(at, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels(3)));
}

describe('loadImageDataset', () => {
  it('mnist: reads a user directory and holds out the last images for validation', async () => {
    const at = join(dir, 'mnist');
    await writeMnist(at, 12);
    const data = await loadImageDataset('mnist', { dir: at, validationSize: 4 });
    expect(data.train).toMatchObject({ count: 8, height: 28, width: 28, channels: 1 });
    expect(data.validation.count).toBe(4);
    expect(data.test.count).toBe(3);
    expect(Array.from(data.validation.labels)).toEqual([8, 9, 0, 1]);
    // Image 9 of the training file (filled with 9) is validation image 1.
    expect(data.validation.pixels[784 + 300]).toBe(9);
    const seq = pixelBatch(data.validation, [1]);
    expect(seq.steps).toBe(784);
    expect(seq.inputs[783]).toBe(Math.fround(9 / 255));
  });

  it('mnist: label count not matching image count is an error naming both files', async () => {
    const at = join(dir, 'mismatch');
    await writeMnist(at, 6, 5);
    await expect(loadImageDataset('mnist', { dir: at, validationSize: 1 })).rejects.toThrow(
      `${join(at, 'train-labels-idx1-ubyte')}: 5 labels, expected 6 to match ${join(at, 'train-images-idx3-ubyte.gz')}`,
    );
  });

  it('mnist: a missing directory or file is one clear line', async () => {
    await expect(loadImageDataset('mnist')).rejects.toThrow(
      'dataset mnist: no directory given; expected dir containing the MNIST IDX files',
    );
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await expect(loadImageDataset('mnist', { dir: empty })).rejects.toThrow(
      `${join(empty, 'train-images-idx3-ubyte')}: file not found (expected one of train-images-idx3-ubyte, train-images-idx3-ubyte.gz, train-images.idx3-ubyte in ${empty})`,
    );
    await expect(loadImageDataset('svhn' as never)).rejects.toThrow(
      "dataset: expected one of fashion-mnist, mnist, cifar10, got 'svhn'",
    );
  });

  it('rejects a validation size that leaves no training data', async () => {
    const at = join(dir, 'small');
    await writeMnist(at, 4);
    await expect(loadImageDataset('mnist', { dir: at })).rejects.toThrow(
      'validationSize: expected an integer in [0, 4) for mnist, got 5000',
    );
  });

  it('cifar10: concatenates data_batch_1..5 in order, test_batch separately, from the archive folder', async () => {
    const at = join(dir, 'cifar', 'cifar-10-batches-bin');
    await mkdir(at, { recursive: true });
    const plane = (v: number) => new Uint8Array(3072).fill(v);
    for (let i = 1; i <= 5; i++) {
      await writeFile(
        join(at, `data_batch_${i}.bin`),
        cifarBytes([i, i], [plane(10 * i), plane(10 * i + 1)]),
      );
    }
    await writeFile(join(at, 'test_batch.bin'), gzipSync(cifarBytes([0], [plane(7)])));
    const data = await loadImageDataset('cifar10', { dir: join(dir, 'cifar'), validationSize: 3 });
    expect(data.train).toMatchObject({ count: 7, height: 32, width: 32, channels: 3 });
    expect(Array.from(data.train.labels)).toEqual([1, 1, 2, 2, 3, 3, 4]);
    expect(Array.from(data.validation.labels)).toEqual([4, 5, 5]);
    expect(data.validation.pixels[0]).toBe(41);
    expect(data.test.count).toBe(1);
    expect(pixelBatch(data.test, [0]).steps).toBe(1024);
    await rm(join(at, 'data_batch_3.bin'));
    await expect(loadImageDataset('cifar10', { dir: at })).rejects.toThrow(
      `${join(at, 'data_batch_3.bin')}: file not found (expected a CIFAR-10 binary batch (3073-byte records))`,
    );
  });

  const haveFashion = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
  it('fashion-mnist: reads the real files: 60000/10000 images of 28x28, labels 0..9', async (ctx) => {
    ctx.skip(!haveFashion, `${FASHION_MNIST_DIR} absent (Debian package dataset-fashion-mnist)`);
    const data = await loadImageDataset('fashion-mnist');
    expect(data.train.count + data.validation.count).toBe(60000);
    expect(data.validation.count).toBe(5000);
    expect(data.test.count).toBe(10000);
    for (const set of [data.train, data.validation, data.test]) {
      expect(set).toMatchObject({ height: 28, width: 28, channels: 1 });
      expect(new Set(set.labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    }
  });
});
