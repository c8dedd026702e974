import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDING_BASELINE_MSE, COPY_BASELINE_LOSS } from '@urgate/tasks';
import type { TopLevelSpec } from 'vega-lite';
import { histogramSpec, writeFigure } from './plot.js';
import { evalCurve, quartiles, readRunResult, type SweepRun, sweepMetric } from './sweep.js';
import { RUN_FILES } from './tasks/trainer.js';

function groupLabel(run: SweepRun, manyLrs: boolean): string {
  const name = `${run.config.mechanism === '-' ? '' : run.config.mechanism}${run.config.core.toUpperCase()}`;
  return manyLrs ? `${name} lr ${run.config.lr}` : name;
}

/** Rows {group, step, median, q1, q3} over the seeds of each (mechanism, lr) group's finished runs. */
export function learningCurveRows(runs: SweepRun[]): Record<string, number | string>[] {
  const manyLrs = new Set(runs.map((r) => r.config.lr)).size > 1;
  const byGroup = new Map<string, Map<number, number[]>>();
  for (const run of runs) {
    if (readRunResult(run)?.outcome !== 'finished') continue;
    const label = groupLabel(run, manyLrs);
    const steps = byGroup.get(label) ?? new Map<number, number[]>();
    byGroup.set(label, steps);
    for (const { step, value } of evalCurve(run))
      steps.set(step, [...(steps.get(step) ?? []), value]);
  }
  const rows: Record<string, number | string>[] = [];
  for (const [group, steps] of byGroup)
    for (const [step, values] of [...steps].sort((a, b) => a[0] - b[0])) {
      const q = quartiles(values);
      if (q) rows.push({ group, step, median: q.median, q1: q.q1, q3: q.q3 });
    }
  return rows;
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
  const x = { field: 'step', type: 'quantitative', title: 'training step' };
  const color = { field: 'group', type: 'nominal', title: 'model' };
  const layers: object[] = [
    {
      mark: { type: 'area', opacity: 0.2 },
      encoding: {
        x,
        y: { field: 'q1', type: 'quantitative', title: metric.label },
        y2: { field: 'q3' },
        color,
      },
    },
    {
      mark: { type: 'line' },
      encoding: { x, y: { field: 'median', type: 'quantitative' }, color },
    },
  ];
  if (baseline !== null)
    layers.push({
      data: { values: [{ baseline }] },
      mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
      encoding: { y: { field: 'baseline', type: 'quantitative' } },
    });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${config.task}${config.length ? ` N=${config.length}` : ''}: ${metric.label} (median, quartiles over seeds${baseline !== null ? '; dashed: no-memory baseline' : ''})`,
    width: 420,
    height: 280,
    data: { values: learningCurveRows(runs) },
    layer: layers,
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

/** Writes figures/learning-curves and figures/forget-gates (.svg + .png); returns their base paths. */
export async function writeSweepFigures(outDir: string, runs: SweepRun[]): Promise<string[]> {
  const written: string[] = [];
  const curves = learningCurveSpec(runs);
  if ((curves as { data: { values: unknown[] } }).data.values.length > 0) {
    await writeFigure(join(outDir, 'figures', 'learning-curves'), curves);
    written.push(join(outDir, 'figures', 'learning-curves'));
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
