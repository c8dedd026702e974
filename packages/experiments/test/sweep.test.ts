import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels';
import { RUN_FILES, resolveTaskRunConfig, type TaskRunResult, trainTask } from '@urgate/train';
import { describe, expect, it } from 'vitest';
import {
  aggregateSweep,
  planSweep,
  quartiles,
  readRunResult,
  runSweep,
  type SweepRun,
  settingsDifference,
  writeSweepResults,
} from '../src/sweep.js';
import { finalMetricRows, writeSweepFigures } from '../src/sweep-figures.js';

const base = {
  task: 'copy',
  length: 4,
  hiddenSize: 4,
  batchSize: 2,
  steps: 4,
  evalEvery: 2,
  evalSize: 1,
};

function fakeResult(
  run: SweepRun,
  finalLoss: number,
  outcome: 'finished' | 'diverged' = 'finished',
): TaskRunResult {
  return {
    config: run.config,
    outcome,
    steps: 4,
    final: { loss: finalLoss },
    best: { step: 2, loss: finalLoss - 1 },
    test: null,
    msPerStep: 10,
    worldSize: 1,
  };
}

describe('sweep', () => {
  it('quartiles interpolate linearly between order statistics (hand-computed)', () => {
    // sorted 1 2 4 8: q1 at position 0.75 -> 1 + 0.75*1 = 1.75; median at 1.5 -> 3; q3 at 2.25 -> 4 + 0.25*4 = 5.
    expect(quartiles([8, 1, 4, 2])).toEqual({ median: 3, q1: 1.75, q3: 5, min: 1, max: 8, n: 4 });
    // 3 values 10 20 60: q1 at 0.5 -> 15; median 20; q3 at 1.5 -> 40.
    expect(quartiles([60, 10, 20])).toEqual({ median: 20, q1: 15, q3: 40, min: 10, max: 60, n: 3 });
    expect(quartiles([5, Number.NaN])).toEqual({ median: 5, q1: 5, q3: 5, min: 5, max: 5, n: 1 });
    expect(quartiles([])).toBeNull();
  });

  it('aggregates per (mechanism, lr) over seeds, excluding diverged runs and counting them', () => {
    const runs = planSweep(
      base,
      { mechanisms: ['-', 'ur'], seeds: [0, 1, 2, 3], lrs: [1e-3] },
      '/x',
    );
    expect(runs.map((r) => r.id)).toEqual([
      'LSTM-lr1e-3-seed0',
      'LSTM-lr1e-3-seed1',
      'LSTM-lr1e-3-seed2',
      'LSTM-lr1e-3-seed3',
      'UR-LSTM-lr1e-3-seed0',
      'UR-LSTM-lr1e-3-seed1',
      'UR-LSTM-lr1e-3-seed2',
      'UR-LSTM-lr1e-3-seed3',
    ]);
    const results = [
      fakeResult(runs[0], 2.0),
      fakeResult(runs[1], 2.2),
      fakeResult(runs[2], 9, 'diverged'),
      null,
      fakeResult(runs[4], 8),
      fakeResult(runs[5], 1),
      fakeResult(runs[6], 4),
      fakeResult(runs[7], 2),
    ];
    const [plain, ur] = aggregateSweep(runs, results);
    expect(plain).toMatchObject({ mechanism: '-', runs: 4, finished: 2, diverged: 1 });
    // finals 2.0, 2.2: median 2.1, q1 2.05, q3 2.15.
    expect(plain.final?.median).toBeCloseTo(2.1, 12);
    expect(plain.final?.q1).toBeCloseTo(2.05, 12);
    expect(plain.final?.q3).toBeCloseTo(2.15, 12);
    expect(ur).toMatchObject({ mechanism: 'UR-', finished: 4, diverged: 0 });
    expect(ur.final).toEqual({ median: 3, q1: 1.75, q3: 5, min: 1, max: 8, n: 4 });
    expect(ur.best).toEqual({ median: 2, q1: 0.75, q3: 4, min: 0, max: 7, n: 4 });
  });

  it('rejects unknown mechanisms and impossible settings before running anything', () => {
    expect(() => planSweep(base, { mechanisms: ['XR-'], seeds: [0], lrs: [1e-3] }, '/x')).toThrow(
      /mechanisms/,
    );
    expect(() => planSweep(base, { mechanisms: ['-'], seeds: [0], lrs: [-1] }, '/x')).toThrow(/lr/);
  });

  it('skips finished runs and runs the rest, at most `jobs` at a time', async () => {
    const out = mkdtempSync(join(tmpdir(), 'urgate-sweep-'));
    const runs = planSweep(base, { mechanisms: ['-', 'UR-'], seeds: [0, 1], lrs: [1e-3] }, out);
    mkdirSync(runs[1].dir, { recursive: true });
    writeFileSync(join(runs[1].dir, RUN_FILES.result), JSON.stringify(fakeResult(runs[1], 2)));
    const executed: string[] = [];
    let active = 0;
    let peak = 0;
    const execute = async (run: SweepRun) => {
      active += 1;
      peak = Math.max(peak, active);
      executed.push(run.id);
      await new Promise((r) => setTimeout(r, 5));
      mkdirSync(run.dir, { recursive: true });
      writeFileSync(join(run.dir, RUN_FILES.result), JSON.stringify(fakeResult(run, 1)));
      active -= 1;
    };
    const first = await runSweep(runs, { jobs: 2, execute });
    expect(first.skipped).toEqual([runs[1].id]);
    expect(executed.sort()).toEqual([runs[0].id, runs[2].id, runs[3].id].sort());
    expect(peak).toBe(2);
    executed.length = 0;
    const again = await runSweep(runs, { jobs: 2, execute });
    expect(executed).toEqual([]);
    expect(again.skipped.length).toBe(4);
  });

  it.skipIf(!nativeAvailable)(
    'an interrupted run is resumed, and results and figures are written',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'urgate-sweep-'));
      const runs = planSweep(base, { mechanisms: ['-', 'UR-'], seeds: [0, 1], lrs: [1e-3] }, out);
      // The first run was stopped half-way (a killed sweep): the sweep resumes it from its checkpoint.
      await trainTask(runs[0].config, { outDir: runs[0].dir, progress: null, stopAfter: 2 });
      const resumedFrom: number[] = [];
      await runSweep(runs, {
        jobs: 1,
        execute: async (run) => {
          const r = await trainTask(run.config, { outDir: run.dir, progress: null, resume: true });
          resumedFrom.push(r.steps);
        },
      });
      const uninterrupted = await trainTask(
        resolveTaskRunConfig({ ...base, mechanism: '-', seed: 0 }),
        {
          outDir: join(out, 'reference'),
          progress: null,
        },
      );
      const groups = await writeSweepResults(out, runs);
      expect(groups.map((g) => g.finished)).toEqual([2, 2]);
      const plainSeed0 = (
        await import(join(runs[0].dir, RUN_FILES.result), { with: { type: 'json' } })
      ).default;
      expect(plainSeed0.final).toEqual(uninterrupted.final);
      const figures = await writeSweepFigures(out, runs);
      expect(figures.map((f) => f.split('/').pop())).toEqual([
        'learning-curves',
        'final-metric',
        'forget-gates',
      ]);
      // The strip plot has one point per finished run: its seed and its result's final loss.
      expect(finalMetricRows(runs)).toEqual(
        runs.map((run) => ({
          group: run.config.mechanism === '-' ? 'LSTM' : 'UR-LSTM',
          seed: run.config.seed,
          value: readRunResult(run)?.final?.loss,
        })),
      );
      // The trainer records the planned config: the same sweep again runs nothing.
      const again = await runSweep(runs, {
        jobs: 1,
        execute: async (run) => {
          throw new Error(`ran ${run.id} again`);
        },
      });
      expect(again.skipped.length).toBe(4);
    },
  );

  it('refuses, before running anything, a finished run made with other settings', async () => {
    const out = mkdtempSync(join(tmpdir(), 'urgate-sweep-'));
    const runs = planSweep(base, { mechanisms: ['-', 'UR-'], seeds: [0], lrs: [1e-3] }, out);
    const [longer] = planSweep(
      { ...base, steps: 8 },
      { mechanisms: ['UR-'], seeds: [0], lrs: [1e-3] },
      out,
    );
    expect(longer.dir).toBe(runs[1].dir);
    mkdirSync(longer.dir, { recursive: true });
    writeFileSync(join(longer.dir, RUN_FILES.result), JSON.stringify(fakeResult(longer, 1)));
    const executed: string[] = [];
    await expect(
      runSweep(runs, { jobs: 1, execute: async (run) => void executed.push(run.id) }),
    ).rejects.toThrow(
      /UR-LSTM-lr1e-3-seed0\/result\.json finished with other settings \(steps: this sweep has 4, the finished run had 8\)/,
    );
    expect(executed).toEqual([]);
  });

  it('reads a run recorded before --engine existed as the native engine it ran on', () => {
    const recorded = { steps: 4 };
    expect(settingsDifference({ steps: 4, engine: 'native' }, recorded)).toBeNull();
    expect(settingsDifference({ steps: 4, engine: 'reference' }, recorded)).toBe(
      'engine: this sweep has "reference", the finished run had "native"',
    );
  });
});

describe('run config files', () => {
  it('taskRunInput resolves back to the same config (synthetic, pixel with epochs, forgetting)', async () => {
    const { taskRunInput } = await import('@urgate/train');
    for (const input of [
      { task: 'copy', length: 7, steps: 9, mechanism: 'OR-' },
      { task: 'sfmnist', epochs: 1.5, zoneout: true, core: 'gru' },
      { task: 'pmnist', dataDir: '/data/mnist', steps: 3 },
      { task: 'forgetting' },
    ]) {
      const config = resolveTaskRunConfig(input);
      expect(resolveTaskRunConfig(JSON.parse(JSON.stringify(taskRunInput(config))))).toEqual(
        config,
      );
    }
  });
});
