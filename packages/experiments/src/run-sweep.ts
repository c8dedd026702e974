// A whole sweep in one call: plan the runs, train the unfinished ones in child processes
// (resumable), then write the table (results.md, results.json) and the figures. What
// `urgate sweep` and the reproductions run.
import { join } from 'node:path';
import { type L2eRunInput, l2eRunInput, type TaskRunInput, taskRunInput } from '@urgate/train';
import { lmTrainInChild, trainInChild, type UrgateCommand } from './child.js';
import {
  type L2eSweepAxes,
  type L2eSweepRun,
  l2eSweepMarkdown,
  planL2eSweep,
  writeL2eSweepFigures,
  writeL2eSweepResults,
} from './l2e-sweep.js';
import {
  lmSweepMarkdown,
  planLmSweep,
  writeLmSweepFigures,
  writeLmSweepResults,
} from './lm-sweep.js';
import {
  planSweep,
  runSweep,
  type SweepAxes,
  type SweepRun,
  sweepMarkdown,
  writeSweepResults,
} from './sweep.js';
import { writeSweepFigures } from './sweep-figures.js';

export interface SweepOptions {
  /** The sweep directory: runs/<id>/, results.{md,json}, figures/. */
  out: string;
  /** Runs trained at the same time, each in its own process. */
  jobs: number;
  /** Do not train; rewrite the table and figures from the runs present. */
  reportOnly?: boolean;
  /** How to start the `urgate` child processes. */
  urgate: UrgateCommand;
  /** Progress lines (run started, finished, failed). */
  say?: (line: string) => void;
}

export interface SweepOutcome {
  /** The results table (results.md). */
  markdown: string;
  /** Figure paths without extension (each written as .svg and .png). */
  figures: string[];
  /** Runs that failed in this call (see their train.log; the same call again resumes them). */
  failed: number;
}

async function train<R extends { id: string; dir: string; config?: object }>(
  runs: R[],
  o: SweepOptions,
  execute: (run: R) => Promise<void>,
): Promise<number> {
  if (o.reportOnly) return 0;
  o.say?.(`${runs.length} runs, ${o.jobs} at a time, in ${o.out}`);
  const progress = await runSweep(runs, {
    jobs: o.jobs,
    execute,
    ...(o.say ? { onEvent: o.say } : {}),
  });
  return progress.failed.length;
}

/** A sweep of one of the paper's tasks (`urgate train <task>` runs): mechanisms x lrs x seeds. */
export async function sweepTask(
  base: TaskRunInput,
  axes: SweepAxes,
  o: SweepOptions,
): Promise<SweepOutcome> {
  const runs = planSweep(base, axes, o.out);
  const failed = await train(
    runs,
    o,
    trainInChild(o.urgate, o.jobs, (run: SweepRun) => taskRunInput(run.config)),
  );
  const groups = await writeSweepResults(o.out, runs);
  const figures = await writeSweepFigures(o.out, runs);
  return { markdown: sweepMarkdown(groups, runs[0].config), figures, failed };
}

/** A sweep of the program-evaluation task: cores x mechanisms x lrs x seeds. */
export async function sweepL2eTask(
  base: L2eRunInput,
  axes: L2eSweepAxes,
  o: SweepOptions,
): Promise<SweepOutcome> {
  const runs = planL2eSweep(base, axes, o.out);
  const failed = await train(
    runs,
    o,
    trainInChild(o.urgate, o.jobs, (run: L2eSweepRun) => l2eRunInput(run.config)),
  );
  const groups = await writeL2eSweepResults(o.out, runs);
  const figure = await writeL2eSweepFigures(o.out, runs);
  return { markdown: l2eSweepMarkdown(groups, runs), figures: figure ? [figure] : [], failed };
}

export interface LmSweepSettings {
  mechanisms: string[];
  seeds: number[];
  /** The token cache of `urgate lm prepare`. */
  cache: string;
  /** Flags of `urgate train lm` shared by every run (sizes, steps, lr, ...). */
  trainArgs: string[];
}

/** A language-model sweep (`urgate train lm` runs): mechanisms x seeds at the same settings. */
export async function sweepLm(s: LmSweepSettings, o: SweepOptions): Promise<SweepOutcome> {
  const runs = planLmSweep(s.mechanisms, s.seeds, o.out);
  const failed = await train(runs, o, lmTrainInChild(o.urgate, o.jobs, s.cache, s.trainArgs));
  const groups = await writeLmSweepResults(o.out, runs);
  const figures = await writeLmSweepFigures(o.out, runs);
  return { markdown: lmSweepMarkdown(groups), figures, failed };
}

/** The two lines after a sweep's table: where its results and figures are. */
export function sweepFilesText(o: Pick<SweepOptions, 'out'>, r: SweepOutcome): string {
  return `results: ${join(o.out, 'results.md')}, ${join(o.out, 'results.json')}\nfigures: ${r.figures.map((f) => `${f}.{svg,png}`).join(', ') || 'none (no finished runs)'}\n`;
}
