import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FusedAdam, nativeAvailable } from '@urgate/kernels';
import { ParamArenas } from '@urgate/kernels/native';
import { describe, expect, it, vi } from 'vitest';

// A write that dies half-way: the first chunk reaches the temporary file, then the disk "fails".
const failWrites = vi.hoisted(() => ({ on: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const file = await fs.open(...args);
      if (!failWrites.on) return file;
      return Object.assign(Object.create(Object.getPrototypeOf(file)), file, {
        writeFile: async (data: Uint8Array) => {
          await file.write(data.subarray(0, data.length >> 1));
          throw new Error('ENOSPC: no space left on device (simulated)');
        },
        sync: () => file.sync(),
        close: () => file.close(),
      });
    },
  };
});

const { loadTrainingState, saveTrainingState } = await import('../src/training-state.js');
const { MetricsWriter, readMetrics } = await import('../src/metrics.js');
const { divergenceReason } = await import('../src/divergence.js');
const { deriveSeed } = await import('../src/seeds.js');

describe.skipIf(!nativeAvailable)('training state', () => {
  it('round-trips params, Adam moments and progress, and the restored Adam continues identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-state-'));
    const make = () => ({
      'layers.0.W': tf.variable(
        tf.tensor2d([
          [0.5, -1],
          [2, 0.25],
        ]),
      ),
      'layers.0.b': tf.variable(tf.tensor1d([0.1, -0.2])),
    });
    const grads = (k: number) => [tf.fill([2, 2], 0.1 * (k + 1)), tf.tensor1d([k, -k])];
    const a = make();
    const adamA = new FusedAdam(a, { lr: 0.01, clipNorm: 1 });
    for (let k = 0; k < 3; k++) adamA.step(grads(k));
    const path = join(dir, 'state.safetensors');
    await saveTrainingState(path, {
      model: { kind: 'test' },
      arenas: adamA,
      training: { step: 3, data: { epoch: 0, batch: 3 } },
    });
    const loaded = await loadTrainingState(path);
    expect(loaded.training).toEqual({ step: 3, data: { epoch: 0, batch: 3 } });
    expect(Object.keys(loaded.params)).toEqual(['layers.0.W', 'layers.0.b']);
    const b = Object.fromEntries(
      Object.entries(loaded.params).map(([n, t]) => [n, tf.variable(tf.tensor(t.data, t.shape))]),
    );
    const adamB = new FusedAdam(b, { lr: 0.01, clipNorm: 1 });
    const moments = loaded.optimizer;
    if (!moments) throw new Error('the checkpoint has no optimizer moments');
    expect(moments.steps).toBe(3);
    adamB.tensors.forEach((t) => {
      adamB.m.set(moments.m[t.name], t.offset);
      adamB.v.set(moments.v[t.name], t.offset);
    });
    adamB.adamSteps = moments.steps;
    for (let k = 3; k < 6; k++) {
      adamA.step(grads(k));
      adamB.step(grads(k));
    }
    for (const name of Object.keys(a))
      expect(Array.from(b[name].dataSync())).toEqual(
        Array.from(a[name as keyof typeof a].dataSync()),
      );
  });

  it('a failed write leaves the previous checkpoint intact and no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-state-'));
    const path = join(dir, 'state.safetensors');
    const arenas = (values: number[]) => {
      const a = new ParamArenas([{ name: 'w', shape: [3] }]);
      a.params.set(values);
      return a;
    };
    await saveTrainingState(path, { model: {}, arenas: arenas([1, 2, 3]), training: { step: 10 } });
    failWrites.on = true;
    try {
      await expect(
        saveTrainingState(path, {
          model: {},
          arenas: arenas([7, 8, 9]),
          training: { step: 20 },
        }),
      ).rejects.toThrow(
        `writing checkpoint ${path}: no space left on device (simulated); the previous checkpoint is kept`,
      );
    } finally {
      failWrites.on = false;
    }
    const loaded = await loadTrainingState(path);
    expect(loaded.training.step).toBe(10);
    expect(Array.from(loaded.params.w.data)).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['state.safetensors']);
  });
});

describe('metrics, divergence, seeds', () => {
  it('appends JSON lines; resuming at step k drops later records; a torn last line is ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-metrics-'));
    const path = join(dir, 'metrics.jsonl');
    const w = new MetricsWriter(path);
    for (const step of [1, 2, 3, 4]) w.write({ step, loss: step / 2 });
    writeFileSync(
      path,
      `${readMetrics(path)
        .map((r) => JSON.stringify(r))
        .join('\n')}\n{"step": 5, "lo`,
    );
    expect(readMetrics(path).map((r) => r.step)).toEqual([1, 2, 3, 4]);
    const resumed = new MetricsWriter(path, { resumeAtStep: 2 });
    resumed.write({ step: 3, loss: 9 });
    expect(readMetrics(path)).toEqual([
      { step: 1, loss: 0.5 },
      { step: 2, loss: 1 },
      { step: 3, loss: 9 },
    ]);
  });

  it('non-finite loss or gradient norm is divergence', () => {
    expect(divergenceReason(1.5, 3)).toBeNull();
    expect(divergenceReason(Number.NaN, 3)).toBe('loss is NaN');
    expect(divergenceReason(2, Number.POSITIVE_INFINITY)).toBe('gradient norm is Infinity');
  });

  it('derived seeds depend on every part and are 32-bit', () => {
    const seeds = new Set([
      deriveSeed(0, 1, 2),
      deriveSeed(0, 2, 1),
      deriveSeed(1, 1, 2),
      deriveSeed(0, 1),
    ]);
    expect(seeds.size).toBe(4);
    expect(deriveSeed(5, 7)).toBe(deriveSeed(5, 7));
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });
});
