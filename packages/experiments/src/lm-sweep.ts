// A sweep of `urgate train lm` runs (mechanism x seed) and its results: the language-model
// reproduction's table (validation and test word perplexity, median and quartiles over seeds,
// diverged runs counted) and figures (validation curves with bands, test perplexity per seed).

import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Mechanism, parseMechanism } from '@urgate/contract';
import { writeFileAtomic } from '@urgate/files';
import { LM_FILES, type LmRunResult, readMetrics } from '@urgate/train';
import { writeFigure } from './plot.js';
import { type Quartiles, quartiles } from './sweep.js';
import { bandRows, bandSpec, stripPlotSpec } from './sweep-figures.js';

export interface LmSweepRun {
  id: string;
  dir: string;
  mechanism: Mechanism;
  seed: number;
}

export function lmRunName(mechanism: Mechanism): string {
  return `${mechanism === '-' ? '' : mechanism}LSTM`;
}

/** The runs, one directory each under <outDir>/runs/<MECH>LSTM-seed<s>. */
export function planLmSweep(mechanisms: string[], seeds: number[], outDir: string): LmSweepRun[] {
  if (mechanisms.length === 0) throw new Error('mechanisms: expected at least one mechanism');
  if (seeds.length === 0) throw new Error('seeds: expected at least one seed');
  const runs: LmSweepRun[] = [];
  for (const m of mechanisms) {
    const mechanism = parseMechanism(m, 'mechanisms');
    for (const seed of seeds) {
      const id = `${lmRunName(mechanism)}-seed${seed}`;
      runs.push({ id, dir: join(outDir, 'runs', id), mechanism, seed });
    }
  }
  return runs;
}

export function readLmRunResult(run: Pick<LmSweepRun, 'dir'>): LmRunResult | null {
  const path = join(run.dir, LM_FILES.result);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as LmRunResult;
}

/** Validation word perplexity by step, from the run's metrics.jsonl. */
export function lmValidCurve(run: Pick<LmSweepRun, 'dir'>): { step: number; value: number }[] {
  const path = join(run.dir, LM_FILES.metrics);
  if (!existsSync(path)) return [];
  return readMetrics(path)
    .filter((r) => r.kind === 'valid' && typeof r.wordPerplexity === 'number')
    .map((r) => ({ step: r.step, value: r.wordPerplexity as number }));
}

export interface LmSweepGroup {
  mechanism: Mechanism;
  runs: number;
  finished: number;
  diverged: number;
  /** Word perplexities over the seeds' finished runs. */
  valid: Quartiles | null;
  test: Quartiles | null;
  tokensPerSecond: number | null;
}

export function aggregateLmSweep(
  runs: LmSweepRun[],
  results: (LmRunResult | null)[],
): LmSweepGroup[] {
  const groups = new Map<Mechanism, (LmRunResult | null)[]>();
  runs.forEach((run, k) => {
    groups.set(run.mechanism, [...(groups.get(run.mechanism) ?? []), results[k]]);
  });
  return [...groups].map(([mechanism, members]) => {
    const done = members.filter((r): r is LmRunResult => r !== null);
    const finished = done.filter((r) => r.outcome === 'finished');
    const rates = done.map((r) => r.tokensPerSecond).filter(Number.isFinite);
    return {
      mechanism,
      runs: members.length,
      finished: finished.length,
      diverged: done.filter((r) => r.outcome === 'diverged').length,
      valid: quartiles(finished.flatMap((r) => (r.valid ? [r.valid.wordPerplexity] : []))),
      test: quartiles(finished.flatMap((r) => (r.test ? [r.test.wordPerplexity] : []))),
      tokensPerSecond: rates.length > 0 ? rates.reduce((a, b) => a + b, 0) / rates.length : null,
    };
  });
}

function fmt(q: Quartiles | null): string {
  if (q === null) return '–';
  return q.n === 1
    ? q.median.toFixed(2)
    : `${q.median.toFixed(2)} [${q.q1.toFixed(2)}, ${q.q3.toFixed(2)}]`;
}

export function lmSweepMarkdown(groups: LmSweepGroup[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line([
      'mechanism',
      'runs',
      'diverged',
      'valid word perplexity',
      'test word perplexity',
      'tokens/s',
    ]),
    line(['---', '---:', '---:', '---:', '---:', '---:']),
    ...groups.map((g) =>
      line([
        lmRunName(g.mechanism),
        `${g.finished + g.diverged}/${g.runs}`,
        String(g.diverged),
        fmt(g.valid),
        fmt(g.test),
        g.tokensPerSecond === null ? '–' : g.tokensPerSecond.toFixed(0),
      ]),
    ),
    '',
    'Values: median over seeds [first quartile, third quartile] of finished (not diverged) runs.',
    '',
  ].join('\n');
}

/** Writes results.json (groups, and per run its config, result and validation curve) and results.md. */
export async function writeLmSweepResults(
  outDir: string,
  runs: LmSweepRun[],
): Promise<LmSweepGroup[]> {
  await mkdir(outDir, { recursive: true });
  const results = runs.map(readLmRunResult);
  const groups = aggregateLmSweep(runs, results);
  const body = {
    task: 'lm',
    metric: { key: 'wordPerplexity', label: 'word perplexity', higherIsBetter: false },
    groups,
    runs: runs.map((run, k) => ({
      id: run.id,
      mechanism: run.mechanism,
      seed: run.seed,
      config: results[k]?.config ?? null,
      result: results[k],
      curve: lmValidCurve(run),
    })),
  };
  await writeFileAtomic(join(outDir, 'results.json'), `${JSON.stringify(body, null, 2)}\n`);
  await writeFileAtomic(join(outDir, 'results.md'), lmSweepMarkdown(groups));
  return groups;
}

/** figures/learning-curves (validation word perplexity) and figures/final-metric (test, per seed). */
export async function writeLmSweepFigures(outDir: string, runs: LmSweepRun[]): Promise<string[]> {
  const finished = runs.filter((run) => readLmRunResult(run)?.outcome === 'finished');
  if (finished.length === 0) return [];
  const curves = join(outDir, 'figures', 'learning-curves');
  await writeFigure(
    curves,
    bandSpec(
      bandRows(
        finished.map((run) => ({ group: lmRunName(run.mechanism), points: lmValidCurve(run) })),
      ),
      {
        title: 'language model: validation word perplexity (median, quartiles over seeds)',
        yTitle: 'validation word perplexity',
      },
    ),
  );
  const rows = finished.flatMap((run) => {
    const test = readLmRunResult(run)?.test;
    return test
      ? [{ group: lmRunName(run.mechanism), seed: run.seed, value: test.wordPerplexity }]
      : [];
  });
  const strip = join(outDir, 'figures', 'final-metric');
  await writeFigure(
    strip,
    stripPlotSpec(rows, {
      title: 'language model: test word perplexity per seed (tick: median; diverged runs left out)',
      valueTitle: 'test word perplexity',
      groups: [...new Set(rows.map((r) => r.group))],
    }),
  );
  return [curves, strip];
}
