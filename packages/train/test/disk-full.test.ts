// A full disk during a checkpoint write, on a real file system: a 1 MiB tmpfs (mounting needs
// root; skipped with the reason where the machine does not allow it).

import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@urgate/contract';
import { nativeAvailable } from '@urgate/kernels';
import { describe, expect, it } from 'vitest';
import { readMetrics } from '../src/metrics.js';
import { resolveTaskRunConfig } from '../src/tasks/config.js';
import { RUN_FILES, trainTask } from '../src/tasks/trainer.js';
import { loadTrainingState } from '../src/training-state.js';
import { tinyDataset } from './tiny-dataset.js';

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `urgate-${name}-`));

async function weights(dir: string) {
  const { tensors } = await loadCheckpoint(join(dir, RUN_FILES.model));
  return Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, Array.from(t.data)]));
}

describe.skipIf(!nativeAvailable)('a full disk', () => {
  it('a checkpoint write that fails for space names the checkpoint, keeps the previous one, and the resume after room is made is exact', async (ctx) => {
    const mnt = fresh('tmpfs');
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], {
      encoding: 'utf8',
    });
    if (mount.status !== 0) {
      rmSync(mnt, { recursive: true });
      ctx.skip(`cannot mount a tmpfs here (${mount.stderr.trim() || mount.error?.message})`);
    }
    try {
      // Hidden size 32: a checkpoint (parameters and Adam moments) of about 60 KB, many pages.
      const config = resolveTaskRunConfig({
        task: 'copy',
        length: 5,
        hiddenSize: 32,
        batchSize: 4,
        steps: 6,
        evalEvery: 3,
        evalSize: 1,
        checkpointEvery: 100,
      });
      const opts = { progress: null, dataset: tinyDataset } as const;
      const whole = fresh('whole');
      await trainTask(config, { ...opts, outDir: whole });

      const run = join(mnt, 'run');
      await trainTask(config, { ...opts, outDir: run, stopAfter: 3 });
      const checkpoint = join(run, RUN_FILES.checkpoint);
      const size = statSync(checkpoint).size;
      expect(size).toBeGreaterThan(8 * 4096);
      // Fill the disk to leave one page: the metrics appends fit, the next checkpoint does not.
      const fs = statfsSync(mnt);
      const filler = join(mnt, 'filler');
      writeFileSync(filler, Buffer.alloc(fs.bavail * fs.bsize - 4096));
      await expect(trainTask(config, { ...opts, outDir: run, resume: true })).rejects.toThrow(
        `writing checkpoint ${checkpoint}: no space left on device; the previous checkpoint is kept`,
      );
      expect((await loadTrainingState(checkpoint)).training.step).toBe(3);
      expect(readdirSync(run).filter((n) => n.includes('.tmp-'))).toEqual([]);

      // Room again: the resume continues from step 3 and ends as the uninterrupted run did.
      unlinkSync(filler);
      const resumed = await trainTask(config, { ...opts, outDir: run, resume: true });
      expect(resumed.steps).toBe(config.steps);
      expect(await weights(run)).toEqual(await weights(whole));
      expect(readMetrics(join(run, RUN_FILES.metrics))).toEqual(
        readMetrics(join(whole, RUN_FILES.metrics)),
      );
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
