// Image data sets by name. Validation is the LAST `validationSize` images (default 5000)
// of the official training set, in file order; training is the rest; test is the
// official test set. Fashion-MNIST ships with Debian (dataset-fashion-mnist); MNIST and
// CIFAR-10 are read from a directory the user gives (nothing is downloaded).

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { CIFAR10_SIDE, readCifar10Batch } from './cifar.js';
import { readIdxImages, readIdxLabels } from './idx.js';
import { checkImageSet, type ImageSet, sliceImageSet } from './images.js';

export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10';
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10'];
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const DEFAULT_VALIDATION_SIZE = 5000;

export interface ImageDataset {
  name: DatasetName;
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
}

export interface LoadOptions {
  /** Directory holding the files; required for mnist and cifar10. */
  dir?: string;
  /** Images taken from the end of the training set for validation (default 5000). */
  validationSize?: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** First existing file among the usual spellings of an IDX file name. */
async function findIdxFile(dir: string, prefix: string, kind: 'images-idx3' | 'labels-idx1') {
  const dotted = kind.replace('-', '.');
  const names = [
    `${prefix}-${kind}-ubyte`,
    `${prefix}-${kind}-ubyte.gz`,
    `${prefix}-${dotted}-ubyte`,
  ];
  for (const name of names) {
    if (await exists(join(dir, name))) return join(dir, name);
  }
  throw new Error(
    `${join(dir, names[0])}: file not found (expected one of ${names.join(', ')} in ${dir})`,
  );
}

/**
 * Like Promise.all, but when several files are bad the error is the first one in argument
 * order, so the same input always reports the same file (not whichever read finished first).
 */
async function allInOrder<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** An IDX images/labels pair as an image set (1 channel, 10 classes). */
export async function readIdxImageSet(
  imagesPath: string,
  labelsPath: string,
  name: string,
): Promise<ImageSet> {
  const [images, labels] = await allInOrder([readIdxImages(imagesPath), readIdxLabels(labelsPath)]);
  if (labels.length !== images.count) {
    throw new Error(
      `${labelsPath}: ${labels.length} labels, expected ${images.count} to match ${imagesPath}`,
    );
  }
  return checkImageSet(
    { name, ...images, channels: 1, labels, numClasses: 10 },
    `${imagesPath} + ${labelsPath}`,
  );
}

async function readIdxSplit(dir: string, dataset: DatasetName, prefix: 'train' | 't10k') {
  const images = await findIdxFile(dir, prefix, 'images-idx3');
  const labels = await findIdxFile(dir, prefix, 'labels-idx1');
  return readIdxImageSet(images, labels, `${dataset}/${prefix === 'train' ? 'train' : 'test'}`);
}

/** CIFAR-10 batch files concatenated into one set (32x32x3, 10 classes). */
export async function readCifar10Files(paths: string[], name: string): Promise<ImageSet> {
  const batches = await allInOrder(paths.map(readCifar10Batch));
  const count = batches.reduce((a, b) => a + b.count, 0);
  const pixels = new Uint8Array(count * CIFAR10_SIDE * CIFAR10_SIDE * 3);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const batch of batches) {
    pixels.set(batch.pixels, n * CIFAR10_SIDE * CIFAR10_SIDE * 3);
    labels.set(batch.labels, n);
    n += batch.count;
  }
  return {
    name,
    count,
    height: CIFAR10_SIDE,
    width: CIFAR10_SIDE,
    channels: 3,
    pixels,
    labels,
    numClasses: 10,
  };
}

async function cifarDir(dir: string): Promise<string> {
  // The official archive extracts to cifar-10-batches-bin/; accept its parent too.
  const nested = join(dir, 'cifar-10-batches-bin');
  return (await exists(join(nested, 'test_batch.bin'))) ? nested : dir;
}

export async function loadImageDataset(
  name: DatasetName,
  options: LoadOptions = {},
): Promise<ImageDataset> {
  if (!DATASET_NAMES.includes(name)) {
    throw new Error(`dataset: expected one of ${DATASET_NAMES.join(', ')}, got '${String(name)}'`);
  }
  const dir = options.dir ?? (name === 'fashion-mnist' ? FASHION_MNIST_DIR : undefined);
  if (dir === undefined) {
    const files =
      name === 'mnist'
        ? 'the MNIST IDX files (train-images-idx3-ubyte[.gz], ...)'
        : 'the CIFAR-10 binary batches (data_batch_1.bin..data_batch_5.bin, test_batch.bin)';
    throw new Error(`dataset ${name}: no directory given; expected dir containing ${files}`);
  }
  let train: ImageSet;
  let test: ImageSet;
  if (name === 'cifar10') {
    const d = await cifarDir(dir);
    const trainFiles = [1, 2, 3, 4, 5].map((i) => join(d, `data_batch_${i}.bin`));
    train = await readCifar10Files(trainFiles, 'cifar10/train');
    test = await readCifar10Files([join(d, 'test_batch.bin')], 'cifar10/test');
  } else {
    train = await readIdxSplit(dir, name, 'train');
    test = await readIdxSplit(dir, name, 't10k');
  }
  const validationSize = options.validationSize ?? DEFAULT_VALIDATION_SIZE;
  if (
    !Number.isSafeInteger(validationSize) ||
    validationSize < 0 ||
    validationSize >= train.count
  ) {
    throw new Error(
      `validationSize: expected an integer in [0, ${train.count}) for ${name}, got ${validationSize}`,
    );
  }
  const cut = train.count - validationSize;
  return {
    name,
    train: sliceImageSet(train, 0, cut, `${name}/train`),
    validation: sliceImageSet(train, cut, train.count, `${name}/validation`),
    test,
  };
}
