// What data-parallel ranks compare at start (loop.ts's DataChecksum): equal for the same data,
// different when any image read, the generator's seed or a setting that shapes the batches
// differs, as the ranks of one job must be refused.
import { describe, expect, it } from 'vitest';
import { resolveL2eRunConfig } from '../src/l2e/config.js';
import { openL2eData } from '../src/l2e/data.js';
import { resolveTaskRunConfig } from '../src/tasks/config.js';
import { openTaskData } from '../src/tasks/data.js';
import { tinyDataset } from './tiny-dataset.js';

describe('data checksums', () => {
  it('pixel task: every image and label read counts, the last test pixel too', async () => {
    const config = resolveTaskRunConfig({ task: 'sfmnist', batchSize: 4 });
    const a = (await openTaskData(config, tinyDataset)).checksum();
    expect((await openTaskData(config, tinyDataset)).checksum()).toBe(a);
    const pixels = tinyDataset.test.pixels.slice();
    pixels[pixels.length - 1] ^= 1;
    const changed = { ...tinyDataset, test: { ...tinyDataset.test, pixels } };
    expect((await openTaskData(config, changed)).checksum()).not.toBe(a);
    const labels = tinyDataset.train.labels.slice();
    labels[0] = (labels[0] + 1) % 3;
    const relabelled = { ...tinyDataset, train: { ...tinyDataset.train, labels } };
    expect((await openTaskData(config, relabelled)).checksum()).not.toBe(a);
    // The pixel order is part of what a rank reads.
    const permuted = resolveTaskRunConfig({ task: 'pfmnist', batchSize: 4 });
    expect((await openTaskData(permuted, tinyDataset)).checksum()).not.toBe(a);
  });

  it('synthetic task: the generated batches (seed, length) count', async () => {
    const copy = { task: 'copy', length: 5, batchSize: 4, evalSize: 2 } as const;
    const a = (await openTaskData(resolveTaskRunConfig(copy))).checksum();
    expect((await openTaskData(resolveTaskRunConfig(copy))).checksum()).toBe(a);
    for (const other of [{ seed: 1 }, { length: 6 }, { evalSize: 1 }])
      expect((await openTaskData(resolveTaskRunConfig({ ...copy, ...other }))).checksum()).not.toBe(
        a,
      );
  });

  it('l2e: the generated programs (seed, curriculum) count', () => {
    const tiny = { length: 2, nesting: 2, batchSize: 4, evalSize: 1 };
    const a = openL2eData(resolveL2eRunConfig(tiny)).checksum();
    expect(openL2eData(resolveL2eRunConfig(tiny)).checksum()).toBe(a);
    for (const other of [{ seed: 1 }, { curriculum: 'naive' as const }, { nesting: 1 }])
      expect(openL2eData(resolveL2eRunConfig({ ...tiny, ...other })).checksum()).not.toBe(a);
  });
});
