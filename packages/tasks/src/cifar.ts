// CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin): records of 3073 bytes,
// one label byte (0..9) then 3072 pixel bytes for a 32x32 image, the red plane first,
// then green, then blue, each plane row-major. Standard batches hold 10000 records.

import { readDataFile } from './dataFile.js';

export const CIFAR10_SIDE = 32;
const CIFAR10_PLANE = CIFAR10_SIDE * CIFAR10_SIDE;
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_PLANE;
export const CIFAR10_BATCH_RECORDS = 10000;

export interface CifarBatch {
  count: number;
  /** count x 1024 pixels x 3 channels (RGB interleaved per pixel, row-major pixels). */
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** Parses one batch file's bytes; `file` names it in errors. */
export function parseCifar10Batch(bytes: Uint8Array, file: string): CifarBatch {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(
      `${file}: truncated or not a CIFAR-10 batch: ${bytes.length} bytes is not a positive multiple of ${CIFAR10_RECORD_BYTES}-byte records (a standard batch is ${CIFAR10_BATCH_RECORDS * CIFAR10_RECORD_BYTES} bytes)`,
    );
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * CIFAR10_PLANE * 3);
  for (let n = 0; n < count; n++) {
    const rec = n * CIFAR10_RECORD_BYTES;
    const label = bytes[rec];
    if (label > 9) {
      throw new Error(`${file}: record ${n} has label ${label}, expected a class in 0..9`);
    }
    labels[n] = label;
    const out = n * CIFAR10_PLANE * 3;
    for (let c = 0; c < 3; c++) {
      const plane = rec + 1 + c * CIFAR10_PLANE;
      for (let p = 0; p < CIFAR10_PLANE; p++) pixels[out + p * 3 + c] = bytes[plane + p];
    }
  }
  return { count, pixels, labels };
}

export async function readCifar10Batch(path: string): Promise<CifarBatch> {
  const bytes = await readDataFile(path, 'a CIFAR-10 binary batch (3073-byte records)');
  return parseCifar10Batch(bytes, path);
}
