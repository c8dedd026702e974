import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@urgate/files';
import { Command, InvalidArgumentError } from 'commander';
import { nonNegativeInteger, positiveInteger, processIO, reportErrors } from './common.js';
import { addL2eOptions, type L2eFlags, sweepL2e } from './l2e.js';
import { addTrainingOptions, type TrainingFlags, trainingInput } from './train.js';

export interface SweepFlags extends TrainingFlags, L2eFlags {
  cores: string[];
  mechanisms: string[];
  seeds: number;
  firstSeed: number;
  lrs: number[];
  jobs: number;
  out?: string;
  reportOnly?: boolean;
}

function list(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

function lrList(value: string): number[] {
  return list(value).map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`'${s}' is not a positive number`);
    return n;
  });
}

/**
 * Trains one run in a child process (`urgate train --config ... --resume`), its output in
 * train.log; `input` is the run's config.json (the settings that resolve to its config).
 */
export function childExecutor<R extends { dir: string }>(jobs: number, input: (run: R) => unknown) {
  const threads = String(Math.max(1, Math.floor(availableParallelism() / jobs)));
  return async (run: R): Promise<void> => {
    await mkdir(run.dir, { recursive: true });
    const configPath = join(run.dir, 'config.json');
    await writeJsonAtomic(configPath, input(run));
    const log = createWriteStream(join(run.dir, 'train.log'), { flags: 'a' });
    const args = [
      ...process.execArgv,
      process.argv[1],
      'train',
      '--config',
      configPath,
      '--out',
      run.dir,
      '--resume',
    ];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, URGATE_NUM_THREADS: process.env.URGATE_NUM_THREADS ?? threads },
      });
      let lastError = '';
      child.stdout.pipe(log, { end: false });
      child.stderr.on('data', (chunk: Buffer) => {
        log.write(chunk);
        const lines = chunk.toString().trim().split('\n');
        lastError = lines[lines.length - 1] ?? lastError;
      });
      child.on('error', reject);
      child.on('close', (code) => {
        log.end();
        if (code === 0) resolve();
        else
          reject(
            new Error(`exit status ${code}: ${lastError} (log: ${join(run.dir, 'train.log')})`),
          );
      });
    });
  };
}

export function sweepCommand(): Command {
  const cmd = new Command('sweep')
    .description(
      'Train every mechanism x learning rate x seed on one task (resumable: finished runs are skipped, unfinished ones resume), then write a results table and figures',
    )
    .argument(
      '<task>',
      'a task of `urgate train` (copy, adding, forgetting, smnist, pmnist, sfmnist, pfmnist, scifar, pcifar, l2e)',
    )
    .option('--mechanisms <list>', 'comma-separated gate mechanisms', list, ['-', 'UR-'])
    .option(
      '--seeds <n>',
      'seeds per (mechanism, lr): first-seed .. first-seed+n-1',
      positiveInteger,
      3,
    )
    .option('--first-seed <n>', 'first seed', nonNegativeInteger, 0)
    .option('--lrs <list>', 'comma-separated learning rates', lrList, [1e-3])
    .option(
      '--jobs <n>',
      'runs trained at the same time, each in its own process',
      positiveInteger,
      1,
    );
  return addL2eOptions(addTrainingOptions(cmd))
    .option('--cores <list>', 'l2e: comma-separated cores, of lstm, gru, rmc', list, ['lstm'])
    .option('--out <dir>', 'sweep directory (default runs/sweep-<task>)')
    .option('--report-only', 'do not train; rewrite the table and figures from the runs present')
    .addHelpText(
      'after',
      '\nLayout: <out>/runs/<MECH><CORE>-lr<lr>-seed<s>/ (one `urgate train` run each), <out>/results.md, <out>/results.json,\n<out>/figures/learning-curves.{svg,png} (median and quartile band over seeds),\n<out>/figures/final-metric.{svg,png} (the final metric per seed; pixel tasks: test accuracy), <out>/figures/forget-gates.{svg,png}.\n\nExample:\n  urgate sweep copy --mechanisms -,UR- --seeds 3 --lrs 1e-3 --length 100 --hidden-size 128 --steps 4000 --jobs 2 --out runs/sweep-copy\n  urgate sweep l2e --cores lstm,rmc --mechanisms -,UR- --seeds 3 --length 4 --nesting 2 --steps 2000 --out runs/sweep-l2e',
    )
    .action(
      reportErrors('sweep', processIO, async (task: string, flags: SweepFlags) => {
        if (task === 'l2e') return sweepL2e(flags);
        const { planSweep, runSweep, taskRunInput, writeSweepFigures, writeSweepResults } =
          await import('@urgate/train');
        const out = flags.out ?? join('runs', `sweep-${task}`);
        const seeds = Array.from({ length: flags.seeds }, (_, k) => flags.firstSeed + k);
        const runs = planSweep(
          trainingInput(task, flags) as import('@urgate/train').TaskRunInput,
          { mechanisms: flags.mechanisms, seeds, lrs: flags.lrs },
          out,
        );
        const say = (line: string) =>
          process.stderr.write(`[sweep ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
        let failed = 0;
        if (!flags.reportOnly) {
          say(`${runs.length} runs, ${flags.jobs} at a time, in ${out}`);
          const progress = await runSweep(runs, {
            jobs: flags.jobs,
            execute: childExecutor(flags.jobs, (run: import('@urgate/train').SweepRun) =>
              taskRunInput(run.config),
            ),
            onEvent: say,
          });
          failed = progress.failed.length;
        }
        const groups = await writeSweepResults(out, runs);
        const figures = await writeSweepFigures(out, runs);
        const { sweepMarkdown } = await import('@urgate/train');
        process.stdout.write(`${sweepMarkdown(groups, runs[0].config)}\n`);
        process.stdout.write(
          `results: ${join(out, 'results.md')}, ${join(out, 'results.json')}\nfigures: ${figures.map((f) => `${f}.{svg,png}`).join(', ') || 'none (no finished runs)'}\n`,
        );
        if (failed > 0)
          throw new Error(
            `${failed} run(s) failed; see their train.log, then rerun the same command to resume`,
          );
      }),
    );
}
