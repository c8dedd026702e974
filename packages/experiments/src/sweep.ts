import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Mechanism, parseMechanism } from '@urgate/contract';
import { writeFileAtomic } from '@urgate/files';
import {
  isPixelTask,
  RUN_FILES,
  readMetrics,
  resolveTaskRunConfig,
  type TaskRunConfig,
  type TaskRunInput,
  type TaskRunResult,
} from '@urgate/train';

/** One run of a sweep: a (mechanism, learning rate, seed) cell, in its own directory. */
export interface SweepRun {
  id: string;
  dir: string;
  config: TaskRunConfig;
}

export interface SweepAxes {
  mechanisms: string[];
  seeds: number[];
  lrs: number[];
}

function lrLabel(lr: number): string {
  return lr.toExponential().replace('e+', 'e');
}

/** The runs of a sweep, validated up front (one bad setting fails before anything trains). */
export function planSweep(base: TaskRunInput, axes: SweepAxes, outDir: string): SweepRun[] {
  if (axes.mechanisms.length === 0) throw new Error('mechanisms: expected at least one mechanism');
  if (axes.seeds.length === 0) throw new Error('seeds: expected at least one seed');
  if (axes.lrs.length === 0) throw new Error('lrs: expected at least one learning rate');
  const mechanisms = axes.mechanisms.map((m) => parseMechanism(m, 'mechanisms'));
  const runs: SweepRun[] = [];
  for (const mechanism of mechanisms)
    for (const lr of axes.lrs)
      for (const seed of axes.seeds) {
        const config = resolveTaskRunConfig({ ...base, mechanism, lr, seed });
        const name = `${mechanism === '-' ? '' : mechanism}${config.core.toUpperCase()}`;
        const id = `${name}-lr${lrLabel(lr)}-seed${seed}`;
        runs.push({ id, dir: join(outDir, 'runs', id), config });
      }
  return runs;
}

export function readRunResult(run: Pick<SweepRun, 'dir'>): TaskRunResult | null {
  const path = join(run.dir, RUN_FILES.result);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as TaskRunResult;
}

export interface SweepProgress {
  /** Runs found finished (result.json present) and not run again. */
  skipped: string[];
  /** Runs executed (started fresh or resumed from their checkpoint) by this call. */
  ran: string[];
  failed: { id: string; error: string }[];
}

/**
 * Settings added to the trainers' configs after runs had been recorded without them, with the value
 * those runs were trained with: task and l2e runs before `--engine` ran on the native kernels.
 */
const RECORDED_BEFORE_THE_SETTING: Record<string, unknown> = { engine: 'native' };

/**
 * The first setting in which a finished run's recorded config differs from the planned one, as
 * `field: planned X, finished run had Y`, or null when they agree.
 */
export function settingsDifference(planned: object, recorded: object): string | null {
  const a = planned as Record<string, unknown>;
  const b = recorded as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[key] ?? null);
    const y = JSON.stringify(b[key] ?? RECORDED_BEFORE_THE_SETTING[key] ?? null);
    if (x !== y) return `${key}: this sweep has ${x}, the finished run had ${y}`;
  }
  return null;
}

/**
 * Runs every unfinished run through `execute` (which trains it in `run.dir`, resuming from its
 * checkpoint) with at most `jobs` at a time; finished runs are skipped. A run that throws is
 * reported in `failed` and the others continue. Any trainer's runs (a run is finished when its
 * result.json exists). A run planned with a `config` is skipped only if it finished with that
 * config: a finished run made with other settings is refused before anything starts, since its
 * result would otherwise stand in this sweep's table under settings it was not trained with.
 */
export async function runSweep<R extends { id: string; dir: string; config?: object }>(
  runs: R[],
  options: {
    jobs: number;
    execute: (run: R) => Promise<void>;
    onEvent?: (line: string) => void;
  },
): Promise<SweepProgress> {
  if (!Number.isInteger(options.jobs) || options.jobs < 1)
    throw new Error(`jobs: expected a positive integer, got ${JSON.stringify(options.jobs)}`);
  const progress: SweepProgress = { skipped: [], ran: [], failed: [] };
  const queue = runs.filter((run) => {
    const result = readRunResult(run);
    if (result === null) return true;
    const difference =
      run.config && result.config ? settingsDifference(run.config, result.config) : null;
    if (difference !== null)
      throw new Error(
        `${join(run.dir, RUN_FILES.result)} finished with other settings (${difference}): use another --out, or delete that run directory to train it again`,
      );
    progress.skipped.push(run.id);
    return false;
  });
  const say = options.onEvent ?? (() => undefined);
  if (progress.skipped.length > 0)
    say(`${progress.skipped.length} run(s) already finished, skipped`);
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const run = queue[next++];
      say(`start ${run.id}`);
      try {
        await options.execute(run);
        progress.ran.push(run.id);
        const r = readRunResult(run);
        say(`done  ${run.id}: ${r ? r.outcome : 'no result written'}`);
      } catch (e) {
        progress.failed.push({ id: run.id, error: (e as Error).message });
        say(`FAILED ${run.id}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, worker));
  return progress;
}

export interface Quartiles {
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
  n: number;
}

/** Quantile with linear interpolation between order statistics (R type 7, numpy's default). */
function quantileSorted(sorted: number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function quartiles(values: number[]): Quartiles | null {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return {
    median: quantileSorted(sorted, 0.5),
    q1: quantileSorted(sorted, 0.25),
    q3: quantileSorted(sorted, 0.75),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    n: sorted.length,
  };
}

/** What a sweep compares: held-out loss for the synthetic tasks, validation accuracy for pixel tasks. */
export function sweepMetric(config: TaskRunConfig): {
  key: 'loss' | 'accuracy';
  label: string;
  higherIsBetter: boolean;
} {
  if (isPixelTask(config.task))
    return { key: 'accuracy', label: 'validation accuracy', higherIsBetter: true };
  return {
    key: 'loss',
    label: config.task === 'copy' ? 'held-out cross-entropy' : 'held-out MSE',
    higherIsBetter: false,
  };
}

export interface SweepGroup {
  mechanism: Mechanism;
  lr: number;
  runs: number;
  finished: number;
  diverged: number;
  /** Over the seeds' finished runs. */
  final: Quartiles | null;
  best: Quartiles | null;
  test: Quartiles | null;
  msPerStep: number | null;
}

/** One group per (mechanism, lr), in the runs' order; runs without a result count only in `runs`. */
export function aggregateSweep(runs: SweepRun[], results: (TaskRunResult | null)[]): SweepGroup[] {
  const groups = new Map<string, { run: SweepRun; result: TaskRunResult | null }[]>();
  runs.forEach((run, k) => {
    const key = `${run.config.mechanism}|${run.config.lr}`;
    groups.set(key, [...(groups.get(key) ?? []), { run, result: results[k] }]);
  });
  return [...groups.values()].map((members) => {
    const { config } = members[0].run;
    const metric = sweepMetric(config);
    const done = members.map((m) => m.result).filter((r): r is TaskRunResult => r !== null);
    const finished = done.filter((r) => r.outcome === 'finished');
    const pick = (f: (r: TaskRunResult) => number | undefined) =>
      quartiles(finished.map(f).filter((v): v is number => v !== undefined));
    const times = done.map((r) => r.msPerStep).filter(Number.isFinite);
    return {
      mechanism: config.mechanism,
      lr: config.lr,
      runs: members.length,
      finished: finished.length,
      diverged: done.filter((r) => r.outcome === 'diverged').length,
      final: pick((r) => r.final?.[metric.key]),
      best: pick((r) => r.best?.[metric.key]),
      test: pick((r) => r.test?.accuracy),
      msPerStep: times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : null,
    };
  });
}

function fmt(q: Quartiles | null, digits = 4): string {
  if (q === null) return '–';
  const v = (x: number) => x.toPrecision(digits);
  return q.n === 1 ? v(q.median) : `${v(q.median)} [${v(q.q1)}, ${v(q.q3)}]`;
}

export function sweepMarkdown(groups: SweepGroup[], config: TaskRunConfig): string {
  const metric = sweepMetric(config);
  const pixel = isPixelTask(config.task);
  const head = [
    'mechanism',
    'lr',
    'runs',
    'diverged',
    `final ${metric.label}`,
    `best ${metric.label}`,
    ...(pixel ? ['test accuracy'] : []),
    'ms/step',
  ];
  const rows = groups.map((g) => [
    `${g.mechanism}${config.core.toUpperCase()}`,
    String(g.lr),
    `${g.finished + g.diverged}/${g.runs}`,
    String(g.diverged),
    fmt(g.final),
    fmt(g.best),
    ...(pixel ? [fmt(g.test)] : []),
    g.msPerStep === null ? '–' : g.msPerStep.toFixed(1),
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(head),
    line(head.map((_, k) => (k < 2 ? '---' : '---:'))),
    ...rows.map(line),
    '',
    'Values: median over seeds [first quartile, third quartile] of finished (not diverged) runs.',
    '',
  ].join('\n');
}

/** Per-run evaluation curve (step, metric) from metrics.jsonl. */
export function evalCurve(run: SweepRun): { step: number; value: number }[] {
  const { key } = sweepMetric(run.config);
  const path = join(run.dir, RUN_FILES.metrics);
  if (!existsSync(path)) return []; // a run not started yet
  return readMetrics(path)
    .filter((r) => r.kind === 'eval' && typeof r[key] === 'number')
    .map((r) => ({ step: r.step, value: r[key] as number }));
}

/** Writes results.json and results.md into outDir; returns the groups. */
export async function writeSweepResults(outDir: string, runs: SweepRun[]): Promise<SweepGroup[]> {
  await mkdir(outDir, { recursive: true });
  const results = runs.map(readRunResult);
  const groups = aggregateSweep(runs, results);
  const config = runs[0].config;
  await writeFileAtomic(
    join(outDir, 'results.json'),
    `${JSON.stringify(
      {
        task: config.task,
        metric: sweepMetric(config),
        groups,
        // The eval curves travel with the results: the reproduction report reads only this file.
        runs: runs.map((run, k) => ({
          id: run.id,
          config: run.config,
          result: results[k],
          curve: evalCurve(run),
        })),
      },
      null,
      2,
    )}\n`,
  );
  await writeFileAtomic(join(outDir, 'results.md'), sweepMarkdown(groups, config));
  return groups;
}
