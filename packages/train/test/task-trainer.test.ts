import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '@urgate/contract';
import { nativeAvailable } from '@urgate/kernels';
import { addingBatch, copyBatch } from '@urgate/tasks';
import { describe, expect, it } from 'vitest';
import { readMetrics } from '../src/metrics.js';
import { resolveTaskRunConfig, type TaskRunInput } from '../src/tasks/config.js';
import { createTaskModel, taskLoss } from '../src/tasks/model.js';
import { RUN_FILES, trainTask } from '../src/tasks/trainer.js';
import { tinyDataset } from './tiny-dataset.js';

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `urgate-${name}-`));

const tinyCopy: TaskRunInput = {
  task: 'copy',
  length: 5,
  hiddenSize: 8,
  batchSize: 4,
  steps: 6,
  evalEvery: 3,
  evalSize: 1,
  checkpointEvery: 100,
};

async function weights(dir: string) {
  const { tensors } = await loadCheckpoint(join(dir, RUN_FILES.model));
  return Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, Array.from(t.data)]));
}

describe.skipIf(!nativeAvailable)('task trainer', () => {
  for (const [label, input] of [
    ['copy, UR-LSTM, 2 layers', { ...tinyCopy, numLayers: 2 }],
    [
      'pixel classifier with zoneout and dropout, UR-GRU',
      {
        task: 'sfmnist',
        core: 'gru',
        hiddenSize: 6,
        batchSize: 8,
        steps: 7,
        evalEvery: 3,
        zoneout: true,
      },
    ],
    [
      'pixel classifier with zoneout and dropout, UR-LSTM',
      { task: 'pfmnist', hiddenSize: 6, batchSize: 8, steps: 7, evalEvery: 3, zoneout: true },
    ],
  ] as [string, TaskRunInput][]) {
    it(`an interrupted and resumed run ends with the same weights and metrics (${label})`, async () => {
      const config = resolveTaskRunConfig(input);
      const whole = fresh('whole');
      const split = fresh('split');
      const opts = { progress: null, dataset: tinyDataset } as const;
      await trainTask(config, { ...opts, outDir: whole });
      const partial = await trainTask(config, { ...opts, outDir: split, stopAfter: 4 });
      expect(partial.steps).toBe(4);
      const resumed = await trainTask(config, { ...opts, outDir: split, resume: true });
      expect(resumed.steps).toBe(config.steps);
      expect(await weights(split)).toEqual(await weights(whole));
      expect(readMetrics(join(split, RUN_FILES.metrics))).toEqual(
        readMetrics(join(whole, RUN_FILES.metrics)),
      );
    });
  }

  it('a poisoned learning rate ends the run as "diverged", recorded, without throwing', async () => {
    const out = fresh('diverge');
    const result = await trainTask(resolveTaskRunConfig({ ...tinyCopy, lr: 1e38 }), {
      outDir: out,
      progress: null,
    });
    expect(result.outcome).toBe('diverged');
    expect(result.divergence?.reason).toMatch(/^(loss|gradient norm) is (NaN|Infinity)$/);
    expect(result.steps).toBeLessThan(6);
    const saved = JSON.parse(readFileSync(join(out, RUN_FILES.result), 'utf8'));
    expect(saved.outcome).toBe('diverged');
    expect(saved.divergence.step).toBe(result.steps);
  });

  it('copy loss with a zero head is exactly log 10; adding MSE with a zero head is the mean squared target', () => {
    const copyCfg = resolveTaskRunConfig(tinyCopy);
    const model = createTaskModel(copyCfg, 10, 10);
    model.params['head.W'].assign(tf.zerosLike(model.params['head.W']));
    model.params['head.b'].assign(tf.zerosLike(model.params['head.b']));
    const batch = copyBatch({ seed: 3, step: 0, batchSize: 4, length: 5 });
    const copyLoss = taskLoss(model, batch, { training: false }).loss.dataSync()[0];
    expect(Math.abs(copyLoss - Math.log(10))).toBeLessThan(1e-6);

    const addCfg = resolveTaskRunConfig({ task: 'adding', length: 6, hiddenSize: 4, batchSize: 5 });
    const adder = createTaskModel(addCfg, 2, 1);
    adder.params['head.W'].assign(tf.zerosLike(adder.params['head.W']));
    adder.params['head.b'].assign(tf.zerosLike(adder.params['head.b']));
    const add = addingBatch({ seed: 1, step: 0, batchSize: 5, length: 6 });
    const mse = taskLoss(adder, add, { training: false }).loss.dataSync()[0];
    const expected = Array.from(add.targets).reduce((s, y) => s + y * y, 0) / add.targets.length;
    expect(Math.abs(mse - expected)).toBeLessThan(1e-6 * Math.max(1, expected));
  });

  it('the forgetting task starts with every gate bias at 6 (effective forget sigma(6))', () => {
    const model = createTaskModel(
      resolveTaskRunConfig({ task: 'forgetting', mechanism: '-' }),
      2,
      1,
    );
    const b = model.params['layers.0.b'].dataSync();
    const d = 64;
    // LSTM '-': blocks f i u o, each d wide; only u (the candidate) keeps its init (0).
    expect(Array.from(b.slice(0, 2 * d)).every((v) => v === 6)).toBe(true);
    expect(Array.from(b.slice(2 * d, 3 * d)).every((v) => v === 0)).toBe(true);
    expect(Array.from(b.slice(3 * d)).every((v) => v === 6)).toBe(true);
  });
});

describe.skipIf(!nativeAvailable)('resume guards', () => {
  it('refuses to resume a checkpoint trained with other settings, in one line', async () => {
    const out = fresh('guard');
    await trainTask(resolveTaskRunConfig(tinyCopy), { outDir: out, progress: null, stopAfter: 2 });
    await expect(
      trainTask(resolveTaskRunConfig({ ...tinyCopy, lr: 5e-3 }), {
        outDir: out,
        progress: null,
        resume: true,
      }),
    ).rejects.toThrow(
      /^--resume: .* was trained with lr 0\.001, this run has 0\.005; use another --out or the same settings$/,
    );
  });
});
