// The verdict rules and the REPRODUCTION.md generator on hand-made results files: every verdict
// below follows from the thresholds (RULES) and the quartiles written here by hand.
import { ADDING_BASELINE_MSE, COPY_BASELINE_LOSS } from '@urgate/tasks';
import { describe, expect, it } from 'vitest';
import {
  best,
  CLAIMS,
  compare,
  eachBetter,
  level,
  type ReproSweep,
  RULES,
  refineFastest,
  reproductionMarkdown,
  settingOf,
  slowProgress,
  solves,
  staysAtBaseline,
  worst,
} from '../src/reproduction.js';
import type { Quartiles } from '../src/sweep.js';

const q = (q1: number, median: number, q3: number, n = 3): Quartiles => ({
  q1,
  median,
  q3,
  min: q1,
  max: q3,
  n,
});

type Row = [mechanism: string, quartiles: Quartiles | null, finished?: number, diverged?: number];

function sweep(
  task: string,
  rows: Row[],
  curves: Record<string, { step: number; value: number }[][]> = {},
): ReproSweep {
  const lm = task === 'lm';
  return {
    task,
    metric: lm
      ? { key: 'wordPerplexity', label: 'word perplexity', higherIsBetter: false }
      : task === 'pfmnist'
        ? { key: 'accuracy', label: 'validation accuracy', higherIsBetter: true }
        : { key: 'loss', label: 'held-out loss', higherIsBetter: false },
    groups: rows.map(([mechanism, quart, finished = 3, diverged = 0]) => ({
      mechanism,
      runs: 3,
      finished,
      diverged,
      ...(lm || task === 'pfmnist' ? { test: quart } : { final: quart }),
    })),
    runs: rows.flatMap(([mechanism]) =>
      (curves[mechanism] ?? [[], [], []]).map((curve, seed) => ({
        id: `${mechanism}-seed${seed}`,
        config: { mechanism, seed, length: 100, hiddenSize: 128, steps: 3000 },
        result: { outcome: 'finished' },
        curve,
      })),
    ),
  };
}

const B = COPY_BASELINE_LOSS; // log 8
const solved = q(0.01, 0.02, RULES.solved * B); // q3 exactly at the threshold counts as solved
const flat = q(RULES.atBaseline * B, 2.07, 2.08); // q1 exactly at the threshold: at baseline
const learning = q(0.5, 0.9, 1.5);
const mixed = q(0.5, 1.9, 2.07);

describe('reproduction verdict rules', () => {
  it('classifies a group against the no-memory baseline by its quartiles', () => {
    expect(level(solved, B)).toBe('solved');
    expect(level(q(0.01, 0.02, RULES.solved * B + 1e-9), B)).toBe('learning');
    expect(level(flat, B)).toBe('at baseline');
    expect(level(learning, B)).toBe('learning');
    expect(level(mixed, B)).toBe('mixed');
  });

  it('"X solve it": holds, does not hold, inconclusive', () => {
    const rule = solves(['UR-', 'C-']);
    expect(
      rule(
        sweep('copy', [
          ['UR-', solved],
          ['C-', solved],
        ]),
      ).verdict,
    ).toBe('holds');
    const no = rule(
      sweep('copy', [
        ['UR-', solved],
        ['C-', flat],
      ]),
    );
    expect(no.verdict).toBe('does not hold');
    expect(no.why).toBe('`C-` at baseline');
    const maybe = rule(
      sweep('copy', [
        ['UR-', learning],
        ['C-', solved],
      ]),
    );
    expect(maybe).toMatchObject({ verdict: 'inconclusive' });
    expect(maybe.why).toContain('`UR-` learning');
    // Fewer than RULES.minFinished finished seeds (the others diverged): no verdict from it.
    const few = rule(
      sweep('copy', [
        ['UR-', solved, 1, 2],
        ['C-', solved],
      ]),
    );
    expect(few.verdict).toBe('inconclusive');
    expect(few.why).toBe('`UR-` has 1 finished run(s) of 3 (2 diverged)');
    expect(rule(sweep('copy', [['UR-', solved]])).why).toBe('not in the sweep: `C-`');
  });

  it('"X stay at the baseline" and "X makes slow progress"', () => {
    const stay = staysAtBaseline(['-', 'R-']);
    expect(
      stay(
        sweep('copy', [
          ['-', flat],
          ['R-', flat],
        ]),
      ).verdict,
    ).toBe('holds');
    expect(
      stay(
        sweep('copy', [
          ['-', flat],
          ['R-', learning],
        ]),
      ).verdict,
    ).toBe('does not hold');
    expect(
      stay(
        sweep('copy', [
          ['-', flat],
          ['R-', mixed],
        ]),
      ).verdict,
    ).toBe('inconclusive');
    const slow = slowProgress('U-');
    expect(slow(sweep('copy', [['U-', learning]])).verdict).toBe('holds');
    expect(slow(sweep('copy', [['U-', flat]])).verdict).toBe('does not hold');
    expect(slow(sweep('copy', [['U-', solved]])).verdict).toBe('does not hold');
    // The adding task's baseline is 1/6: a copy-scale loss of 0.9 is at its baseline there.
    expect(level(q(0.9, 1, 1.1), ADDING_BASELINE_MSE)).toBe('at baseline');
  });

  it('"refine learns fastest" uses the median first step under the solved threshold', () => {
    const t = RULES.solved * ADDING_BASELINE_MSE;
    const at = (step: number) => [
      { step: step - 100, value: 0.16 },
      { step, value: t },
    ];
    const never = [{ step: 100, value: 0.16 }];
    const rule = refineFastest(['UR-']);
    const rows: Row[] = [
      ['UR-', solved],
      ['U-', solved],
    ];
    // UR- medians 300 (seeds 200, 300, 900), U- 400: holds.
    const fast = rule(
      sweep('adding', rows, {
        'UR-': [at(200), at(300), at(900)],
        'U-': [at(400), at(400), never],
      }),
    );
    expect(fast.verdict).toBe('holds');
    expect(fast.ours).toBe('median step reaching 0.1·B: `UR-` 300, `U-` 400');
    const slow = rule(
      sweep('adding', rows, {
        'UR-': [at(500), at(600), never],
        'U-': [at(400), at(400), at(400)],
      }),
    );
    expect(slow.verdict).toBe('does not hold');
    const none = rule(
      sweep('adding', rows, { 'UR-': [never, never, never], 'U-': [never, never, never] }),
    );
    expect(none.verdict).toBe('inconclusive');
  });

  it('comparisons need interquartile ranges apart', () => {
    expect(compare(q(1, 2, 3), q(4, 5, 6), false)).toBe(1); // lower is better
    expect(compare(q(1, 2, 3), q(4, 5, 6), true)).toBe(-1);
    expect(compare(q(1, 2, 4), q(4, 5, 6), false)).toBe(0); // touching ranges overlap
    const lm = sweep('lm', [
      ['-', q(640, 645, 650)],
      ['C-', q(700, 710, 720)],
      ['U-', q(600, 610, 620)],
      ['UR-', q(570, 575, 580)],
    ]);
    expect(best('UR-')(lm).verdict).toBe('holds');
    expect(worst('C-')(lm).verdict).toBe('holds');
    expect(best('U-')(lm)).toMatchObject({
      verdict: 'does not hold',
      why: '`U-` is clearly worse than `UR-`',
    });
    expect(eachBetter(['U-', 'UR-'], '-')(lm).verdict).toBe('holds');
    expect(eachBetter(['U-', 'C-'], '-')(lm).verdict).toBe('does not hold');
    const overlap = sweep('lm', [
      ['-', q(570, 600, 650)],
      ['UR-', q(560, 575, 580)],
    ]);
    expect(best('UR-')(overlap)).toMatchObject({
      verdict: 'inconclusive',
      why: 'interquartile ranges overlap with `-`',
    });
    // Accuracy: higher is better.
    const pixel = sweep('pfmnist', [
      ['-', q(0.5, 0.52, 0.54)],
      ['UR-', q(0.46, 0.47, 0.48)],
    ]);
    expect(best('UR-')(pixel).verdict).toBe('does not hold');
  });
});

describe('REPRODUCTION.md', () => {
  it('has one row per claim; a sweep not run yet is said so', () => {
    const text = reproductionMarkdown({});
    const rows = text
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| paper') && !l.startsWith('| ---'));
    expect(rows.length).toBe(CLAIMS.length);
    for (const row of rows) expect(row).toContain('not run yet');
  });

  it('writes our setting, numbers, verdict and command from the results files', () => {
    const copy = sweep('copy', [
      ['-', flat],
      ['C-', solved],
      ['U-', learning],
      ['R-', flat],
      ['UR-', solved],
      ['O-', solved],
      ['OM-', flat],
      ['UM-', learning],
      ['OR-', solved],
    ]);
    const text = reproductionMarkdown({ 'copy-all': copy });
    const row = (paper: string) => text.split('\n').find((l) => l.includes(paper)) ?? '';
    const solvesRow = row('solve it |');
    expect(solvesRow).toContain('copy, N=100, hidden 128, 3000 steps, 3 seeds');
    expect(solvesRow).toContain('**holds**: every one solved it');
    expect(solvesRow).toContain('`npm run repro:copy-all`');
    // A contradiction is reported as such: UM- left the baseline the paper says it stays at.
    expect(row('stay at the baseline')).toContain(
      '**does not hold**: left the baseline: `UM-` learning',
    );
    expect(row('slow progress')).toContain('**holds**');
    expect(row('Table 6a')).toContain('not run yet');
  });

  it('describes an LM sweep by its run config (the mechanism-specific settings too)', () => {
    const lm = sweep('lm', [['-', q(1, 2, 3)]]);
    const config = {
      hiddenSize: 256,
      bptt: 64,
      batchSize: 32,
      lr: 0.001,
      steps: 600,
      tMax: 8,
      downsize: 32,
    };
    lm.runs = [1, 2].map((seed) => ({
      id: `LSTM-seed${seed}`,
      config: { ...config, seed },
      result: null,
      curve: [],
    }));
    expect(settingOf(lm)).toBe(
      'embedded corpus, hidden 256, BPTT 64, batch 32, lr 0.001, 600 steps, C- Tmax 8, OM-/UM- C=32, 2 seeds',
    );
  });
});
