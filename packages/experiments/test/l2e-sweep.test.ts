import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planL2eSweep, writeL2eSweepResults } from '../src/l2e-sweep.js';

const base = { length: 2, nesting: 2, hiddenSize: 16, memSlots: 2, headSize: 8, numHeads: 2 };

describe('l2e sweeps', () => {
  it('plan cores x mechanisms x lrs x seeds, each core with its own size', () => {
    const runs = planL2eSweep(
      base,
      { cores: ['lstm', 'rmc'], mechanisms: ['-', 'UR-'], seeds: [0, 1, 2], lrs: [1e-3] },
      '/tmp/sw',
    );
    expect(runs).toHaveLength(12);
    expect(runs.map((r) => r.id).slice(0, 4)).toEqual([
      'LSTM-lr1e-3-seed0',
      'LSTM-lr1e-3-seed1',
      'LSTM-lr1e-3-seed2',
      'UR-LSTM-lr1e-3-seed0',
    ]);
    const rmc = runs.find((r) => r.id === 'UR-RMC-lr1e-3-seed2');
    expect(rmc?.config).toMatchObject({ core: 'rmc', hiddenSize: 0 });
    expect(rmc?.config.rmc).toEqual({ memSlots: 2, headSize: 8, numHeads: 2 });
    expect(runs[0].config).toMatchObject({ core: 'lstm', hiddenSize: 16, rmc: null });
    expect(rmc?.dir).toBe(join('/tmp/sw', 'runs', 'UR-RMC-lr1e-3-seed2'));
  });

  it('refuse a bad core or mechanism in one line before anything trains', () => {
    const axes = { cores: ['lstm', 'tcn'], mechanisms: ['-'], seeds: [0], lrs: [1e-3] };
    expect(() => planL2eSweep(base, axes, '/tmp/sw')).toThrow(
      '--cores: expected some of lstm, gru, rmc, got "tcn"',
    );
    expect(() =>
      planL2eSweep(base, { ...axes, cores: ['rmc'], mechanisms: ['R-'] }, '/tmp/sw'),
    ).toThrow(/^--mechanism: expected one of -, C-, OM-, U-, UR-, got "R-"/);
  });

  it('tabulate the median and quartiles of the last evaluation over the seeds of finished runs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'urgate-l2e-sweep-'));
    const runs = planL2eSweep(
      base,
      { cores: ['lstm'], mechanisms: ['UR-'], seeds: [0, 1, 2, 3], lrs: [1e-3] },
      out,
    );
    // Three finished runs (character accuracy 0.2, 0.4, 0.9), one diverged.
    const results = [0.2, 0.4, 0.9, null];
    runs.forEach((run, k) => {
      mkdirSync(run.dir, { recursive: true });
      const acc = results[k];
      const final = acc === null ? null : { charAccuracy: acc, programAccuracy: acc / 2 };
      const result = { outcome: acc === null ? 'diverged' : 'finished', final, msPerStep: 10 };
      writeFileSync(join(run.dir, 'result.json'), JSON.stringify(result));
    });
    const [group] = await writeL2eSweepResults(out, runs);
    expect(group).toMatchObject({ model: 'UR-LSTM', runs: 4, finished: 3, diverged: 1 });
    // R type 7 quartiles of 0.2, 0.4, 0.9: q1 = 0.3, median = 0.4, q3 = 0.65.
    expect(group.charAccuracy?.median).toBeCloseTo(0.4, 12);
    expect(group.charAccuracy?.q1).toBeCloseTo(0.3, 12);
    expect(group.charAccuracy?.q3).toBeCloseTo(0.65, 12);
    expect(group.programAccuracy?.median).toBeCloseTo(0.2, 12);
    const table = readFileSync(join(out, 'results.md'), 'utf8');
    expect(table).toContain(
      'DeepMind (Sonnet) grammar, task all, length 2, nesting 2, mix curriculum',
    );
    expect(table).toContain(
      '| UR-LSTM | 1 × 16 | 0.001 | 4/4 | 1 | 40.0 [30.0, 65.0] | 20.0 [15.0, 32.5] | 10 |',
    );
  });
});
