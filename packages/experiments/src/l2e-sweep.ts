// Sweeps of the l2e task: cores x mechanisms x learning rates x seeds, each run an
// `urgate train l2e` in its own directory (resumable with runSweep), then a table of held-out
// per-character and per-program accuracy (median and quartiles over seeds) and learning curves.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMechanism } from '@urgate/contract';
import { writeFileAtomic } from '@urgate/files';
import {
  L2E_CORES,
  L2E_FILES,
  type L2eRunConfig,
  type L2eRunInput,
  type L2eRunResult,
  l2eModelName,
  readMetrics,
  resolveL2eRunConfig,
} from '@urgate/train';
import type { TopLevelSpec } from 'vega-lite';
import { writeFigure } from './plot.js';
import { type Quartiles, quartiles } from './sweep.js';

export interface L2eSweepRun {
  id: string;
  dir: string;
  config: L2eRunConfig;
}

export interface L2eSweepAxes {
  cores: string[];
  mechanisms: string[];
  seeds: number[];
  lrs: number[];
}

const lrLabel = (lr: number) => lr.toExponential().replace('e+', 'e');

/**
 * The runs of a sweep, every one validated before anything trains. LSTM/GRU runs take the
 * base's hidden size and layers, RMC runs its memory size.
 */
export function planL2eSweep(base: L2eRunInput, axes: L2eSweepAxes, outDir: string): L2eSweepRun[] {
  for (const [name, list] of Object.entries(axes))
    if (list.length === 0) throw new Error(`--${name}: expected at least one value`);
  const mechanisms = axes.mechanisms.map((m) => parseMechanism(m, '--mechanisms'));
  const { hiddenSize, numLayers, memSlots, headSize, numHeads, ...shared } = base;
  const runs: L2eSweepRun[] = [];
  for (const core of axes.cores) {
    if (!(L2E_CORES as readonly string[]).includes(core))
      throw new Error(`--cores: expected some of ${L2E_CORES.join(', ')}, got "${core}"`);
    const size = core === 'rmc' ? { memSlots, headSize, numHeads } : { hiddenSize, numLayers };
    for (const mechanism of mechanisms)
      for (const lr of axes.lrs)
        for (const seed of axes.seeds) {
          const config = resolveL2eRunConfig({ ...shared, ...size, core, mechanism, lr, seed });
          const id = `${l2eModelName(config)}-lr${lrLabel(lr)}-seed${seed}`;
          runs.push({ id, dir: join(outDir, 'runs', id), config });
        }
  }
  return runs;
}

function readL2eResult(run: Pick<L2eSweepRun, 'dir'>): L2eRunResult | null {
  const path = join(run.dir, L2E_FILES.result);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as L2eRunResult) : null;
}

export interface L2eSweepGroup {
  model: string;
  lr: number;
  runs: number;
  finished: number;
  diverged: number;
  /** Over the seeds' finished runs: the last evaluation (held-out test programs). */
  charAccuracy: Quartiles | null;
  programAccuracy: Quartiles | null;
  msPerStep: number | null;
}

/** One group per (model, lr), in the runs' order. */
function aggregateL2eSweep(runs: L2eSweepRun[]): L2eSweepGroup[] {
  const groups = new Map<string, L2eSweepRun[]>();
  for (const run of runs) {
    const key = `${l2eModelName(run.config)}|${run.config.lr}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((members) => {
    const results = members.map(readL2eResult).filter((r): r is L2eRunResult => r !== null);
    const finished = results.filter((r) => r.outcome === 'finished' && r.final !== null);
    const times = results.map((r) => r.msPerStep).filter(Number.isFinite);
    return {
      model: l2eModelName(members[0].config),
      lr: members[0].config.lr,
      runs: members.length,
      finished: finished.length,
      diverged: results.filter((r) => r.outcome === 'diverged').length,
      charAccuracy: quartiles(finished.map((r) => r.final?.charAccuracy as number)),
      programAccuracy: quartiles(finished.map((r) => r.final?.programAccuracy as number)),
      msPerStep: times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : null,
    };
  });
}

function pct(q: Quartiles | null): string {
  if (q === null) return '–';
  const v = (x: number) => (100 * x).toFixed(1);
  return q.n === 1 ? v(q.median) : `${v(q.median)} [${v(q.q1)}, ${v(q.q3)}]`;
}

/** What every result must name: grammar, task, level, curriculum, steps, batch. */
function l2eSettingsLine(c: L2eRunConfig): string {
  return `${c.grammar === 'deepmind' ? 'DeepMind (Sonnet)' : 'Zaremba–Sutskever'} grammar, task ${c.programTask}, length ${c.length}, nesting ${c.nesting}, ${c.curriculum} curriculum, ${c.steps} steps of batch ${c.batchSize}, Adam, clip ${c.clip}; held-out test-split programs at the hardest level (${c.evalSize * c.batchSize} programs), teacher-forced decoder`;
}

export function l2eSweepMarkdown(groups: L2eSweepGroup[], runs: L2eSweepRun[]): string {
  const head = [
    'model',
    'size',
    'lr',
    'runs',
    'diverged',
    'per-character accuracy %',
    'per-program accuracy %',
    'ms/step',
  ];
  const sizeOf = (model: string) => {
    const c = runs.find((r) => l2eModelName(r.config) === model)?.config;
    if (!c) return '';
    return c.rmc
      ? `${c.rmc.memSlots} slots × ${c.rmc.numHeads} heads × ${c.rmc.headSize}`
      : `${c.numLayers} × ${c.hiddenSize}`;
  };
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    l2eSettingsLine(runs[0].config),
    '',
    line(head),
    line(head.map((_, k) => (k < 3 ? '---' : '---:'))),
    ...groups.map((g) =>
      line([
        g.model,
        sizeOf(g.model),
        String(g.lr),
        `${g.finished + g.diverged}/${g.runs}`,
        String(g.diverged),
        pct(g.charAccuracy),
        pct(g.programAccuracy),
        g.msPerStep === null ? '–' : g.msPerStep.toFixed(0),
      ]),
    ),
    '',
    'Values: median over seeds [first quartile, third quartile] of the last evaluation of finished runs.',
    '',
  ].join('\n');
}

/** Writes results.json and results.md into outDir; returns the groups. */
export async function writeL2eSweepResults(
  outDir: string,
  runs: L2eSweepRun[],
): Promise<L2eSweepGroup[]> {
  await mkdir(outDir, { recursive: true });
  const groups = aggregateL2eSweep(runs);
  await writeFileAtomic(
    join(outDir, 'results.json'),
    `${JSON.stringify(
      {
        task: 'l2e',
        settings: l2eSettingsLine(runs[0].config),
        groups,
        runs: runs.map((run) => ({ id: run.id, config: run.config, result: readL2eResult(run) })),
      },
      null,
      2,
    )}\n`,
  );
  await writeFileAtomic(join(outDir, 'results.md'), l2eSweepMarkdown(groups, runs));
  return groups;
}

const METRICS = [
  { key: 'charAccuracy', label: 'per-character accuracy' },
  { key: 'programAccuracy', label: 'per-program accuracy' },
] as const;

/** Rows {model, metric, step, median, q1, q3} over the seeds of each (model, lr). */
function l2eCurveRows(runs: L2eSweepRun[]): Record<string, number | string>[] {
  const manyLrs = new Set(runs.map((r) => r.config.lr)).size > 1;
  const byGroup = new Map<string, Map<number, number[]>>();
  for (const run of runs) {
    if (readL2eResult(run)?.outcome !== 'finished') continue;
    const name = l2eModelName(run.config);
    const model = manyLrs ? `${name} lr ${run.config.lr}` : name;
    for (const r of readMetrics(join(run.dir, L2E_FILES.metrics)))
      if (r.kind === 'eval')
        for (const m of METRICS) {
          const key = `${model}|${m.label}`;
          const steps = byGroup.get(key) ?? new Map<number, number[]>();
          byGroup.set(key, steps);
          steps.set(r.step, [...(steps.get(r.step) ?? []), r[m.key] as number]);
        }
  }
  const rows: Record<string, number | string>[] = [];
  for (const [key, steps] of byGroup) {
    const [model, metric] = key.split('|');
    for (const [step, values] of [...steps].sort((a, b) => a[0] - b[0])) {
      const q = quartiles(values);
      if (q) rows.push({ model, metric, step, median: q.median, q1: q.q1, q3: q.q3 });
    }
  }
  return rows;
}

/** Held-out accuracy over training, median with the interquartile band over seeds. */
function l2eCurveSpec(runs: L2eSweepRun[]): TopLevelSpec {
  const x = { field: 'step', type: 'quantitative', title: 'training step' };
  const color = { field: 'model', type: 'nominal', title: 'model' };
  const c = runs[0].config;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `l2e ${c.grammar} ${c.programTask}, length ${c.length}, nesting ${c.nesting} (${c.curriculum}): held-out accuracy (median, quartiles over seeds)`,
    data: { values: l2eCurveRows(runs) },
    facet: { column: { field: 'metric', type: 'nominal', title: '' } },
    spec: {
      width: 320,
      height: 240,
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: {
            x,
            y: { field: 'q1', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
            y2: { field: 'q3' },
            color,
          },
        },
        {
          mark: { type: 'line' },
          encoding: { x, y: { field: 'median', type: 'quantitative' }, color },
        },
      ],
    },
  } as TopLevelSpec;
}

/** Writes figures/learning-curves.{svg,png}; returns its base path, or null without finished runs. */
export async function writeL2eSweepFigures(
  outDir: string,
  runs: L2eSweepRun[],
): Promise<string | null> {
  const spec = l2eCurveSpec(runs);
  if ((spec as { data: { values: unknown[] } }).data.values.length === 0) return null;
  const base = join(outDir, 'figures', 'learning-curves');
  await writeFigure(base, spec);
  return base;
}
