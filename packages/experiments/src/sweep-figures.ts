import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDING_BASELINE_MSE, COPY_BASELINE_LOSS } from '@urgate/tasks';
import { isPixelTask, RUN_FILES } from '@urgate/train';
import type { TopLevelSpec } from 'vega-lite';
import { histogramSpec, writeFigure } from './plot.js';
import { evalCurve, quartiles, readRunResult, type SweepRun, sweepMetric } from './sweep.js';

function groupLabel(run: SweepRun, manyLrs: boolean): string {
  const name = `${run.config.mechanism === '-' ? '' : run.config.mechanism}${run.config.core.toUpperCase()}`;
  return manyLrs ? `${name} lr ${run.config.lr}` : name;
}

/** Rows {group, step, median, q1, q3}: each group's curves (one per seed) pooled step by step. */
export function bandRows(
  curves: { group: string; points: { step: number; value: number }[] }[],
): Record<string, number | string>[] {
  const byGroup = new Map<string, Map<number, number[]>>();
  for (const { group, points } of curves) {
    const steps = byGroup.get(group) ?? new Map<number, number[]>();
    byGroup.set(group, steps);
    for (const { step, value } of points) steps.set(step, [...(steps.get(step) ?? []), value]);
  }
  const rows: Record<string, number | string>[] = [];
  for (const [group, steps] of byGroup)
    for (const [step, values] of [...steps].sort((a, b) => a[0] - b[0])) {
      const q = quartiles(values);
      if (q) rows.push({ group, step, median: q.median, q1: q.q1, q3: q.q3 });
    }
  return rows;
}

/** Rows {group, step, median, q1, q3} over the seeds of each (mechanism, lr) group's finished runs. */
export function learningCurveRows(runs: SweepRun[]): Record<string, number | string>[] {
  const manyLrs = new Set(runs.map((r) => r.config.lr)).size > 1;
  return bandRows(
    runs
      .filter((run) => readRunResult(run)?.outcome === 'finished')
      .map((run) => ({ group: groupLabel(run, manyLrs), points: evalCurve(run) })),
  );
}

/** Median line with the interquartile band, one colour per group; an optional dashed baseline. */
export function bandSpec(
  rows: Record<string, number | string>[],
  o: { title: string; yTitle: string; baseline?: number | null },
): TopLevelSpec {
  const x = { field: 'step', type: 'quantitative', title: 'training step' };
  const color = { field: 'group', type: 'nominal', title: 'model' };
  const layers: object[] = [
    {
      mark: { type: 'area', opacity: 0.2 },
      encoding: {
        x,
        y: { field: 'q1', type: 'quantitative', title: o.yTitle, scale: { zero: false } },
        y2: { field: 'q3' },
        color,
      },
    },
    {
      mark: { type: 'line', point: true },
      encoding: { x, y: { field: 'median', type: 'quantitative' }, color },
    },
  ];
  if (o.baseline !== undefined && o.baseline !== null)
    layers.push({
      data: { values: [{ baseline: o.baseline }] },
      mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
      encoding: { y: { field: 'baseline', type: 'quantitative' } },
    });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: 420,
    height: 280,
    data: { values: rows },
    layer: layers,
  } as TopLevelSpec;
}

/** Paper Figures 3 and 5: median over seeds with the interquartile band, one colour per mechanism. */
export function learningCurveSpec(runs: SweepRun[]): TopLevelSpec {
  const config = runs[0].config;
  const metric = sweepMetric(config);
  const baseline =
    config.task === 'copy'
      ? COPY_BASELINE_LOSS
      : config.task === 'adding' || config.task === 'forgetting'
        ? ADDING_BASELINE_MSE
        : null;
  return bandSpec(learningCurveRows(runs), {
    title: `${config.task}${config.length ? ` N=${config.length}` : ''}: ${metric.label} (median, quartiles over seeds${baseline !== null ? '; dashed: no-memory baseline' : ''})`,
    yTitle: metric.label,
    baseline,
  });
}

/** Rows {group, seed, value} per finished run: the final metric (pixel: test accuracy when present). */
export function finalMetricRows(
  runs: SweepRun[],
): { group: string; seed: number; value: number }[] {
  const manyLrs = new Set(runs.map((r) => r.config.lr)).size > 1;
  const rows: { group: string; seed: number; value: number }[] = [];
  for (const run of runs) {
    const result = readRunResult(run);
    if (result?.outcome !== 'finished') continue;
    const value = result.test?.accuracy ?? result.final?.[sweepMetric(run.config).key];
    if (value !== undefined && Number.isFinite(value))
      rows.push({ group: groupLabel(run, manyLrs), seed: run.config.seed, value });
  }
  return rows;
}

/** One point per seed for each model, with the median as a tick: how far apart the seeds are. */
export function stripPlotSpec(
  rows: { group: string; seed: number; value: number }[],
  o: { title: string; valueTitle: string; groups: string[] },
): TopLevelSpec {
  const x = { field: 'group', type: 'nominal', title: 'model', sort: o.groups };
  const y = { field: 'value', type: 'quantitative', title: o.valueTitle, scale: { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: Math.max(160, 48 * o.groups.length),
    height: 240,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
        encoding: { x, y, color: { field: 'group', type: 'nominal', legend: null } },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2, size: 24 },
        encoding: { x, y: { ...y, aggregate: 'median' } },
      },
    ],
  } as TopLevelSpec;
}

/** Paper Figure 4: per-unit average effective forget gate, at initialisation and after training. */
export function forgetHistogramRows(runs: SweepRun[]): { panel: string; forget: number }[] {
  const manyLrs = new Set(runs.map((r) => r.config.lr)).size > 1;
  const rows: { panel: string; forget: number }[] = [];
  for (const run of runs) {
    const path = join(run.dir, RUN_FILES.forget);
    if (readRunResult(run)?.outcome !== 'finished' || !existsSync(path)) continue;
    const gates = JSON.parse(readFileSync(path, 'utf8')) as { before?: number[]; after?: number[] };
    const label = groupLabel(run, manyLrs);
    for (const forget of gates.before ?? []) rows.push({ panel: `${label} · init`, forget });
    for (const forget of gates.after ?? []) rows.push({ panel: `${label} · trained`, forget });
  }
  return rows;
}

/** Writes figures/learning-curves, figures/final-metric (strip plot) and figures/forget-gates (.svg + .png); returns their base paths. */
export async function writeSweepFigures(outDir: string, runs: SweepRun[]): Promise<string[]> {
  const written: string[] = [];
  const curves = learningCurveSpec(runs);
  if ((curves as { data: { values: unknown[] } }).data.values.length > 0) {
    await writeFigure(join(outDir, 'figures', 'learning-curves'), curves);
    written.push(join(outDir, 'figures', 'learning-curves'));
  }
  const finals = finalMetricRows(runs);
  if (finals.length > 0) {
    const config = runs[0].config;
    const test = isPixelTask(config.task);
    const label = test ? 'test accuracy' : `final ${sweepMetric(config).label}`;
    await writeFigure(
      join(outDir, 'figures', 'final-metric'),
      stripPlotSpec(finals, {
        title: `${config.task}${config.length ? ` N=${config.length}` : ''}: ${label} per seed (tick: median; diverged runs left out)`,
        valueTitle: label,
        groups: [...new Set(finals.map((r) => r.group))],
      }),
    );
    written.push(join(outDir, 'figures', 'final-metric'));
  }
  const forgetRows = forgetHistogramRows(runs);
  if (forgetRows.length > 0) {
    const panels = [...new Set(forgetRows.map((r) => r.panel))];
    await writeFigure(
      join(outDir, 'figures', 'forget-gates'),
      histogramSpec(forgetRows, {
        title: 'average effective forget gate per unit (all seeds), before and after training',
        field: 'forget',
        fieldTitle: 'mean forget activation',
        facet: { field: 'panel', title: '', columns: 2, sort: panels },
        bins: 30,
        extent: [0, 1],
      }),
    );
    written.push(join(outDir, 'figures', 'forget-gates'));
  }
  return written;
}
