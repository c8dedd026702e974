import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { addTaskOptions, l2eInput, type TaskFlags, trainingInput } from '../training-options.js';
import { nonNegativeInteger, positiveInteger, processIO, reportErrors } from './common.js';

export interface SweepFlags extends TaskFlags {
  cores: string[];
  mechanisms: string[];
  seeds: number;
  firstSeed: number;
  lrs: number[];
  jobs: number;
  out?: string;
  reportOnly?: boolean;
  /** lm: the token cache of `urgate lm prepare`. */
  cache?: string;
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

/** How the sweep's child processes start `urgate`: this very command line's node and script. */
const urgateCommand = (): string[] => [process.execPath, ...process.execArgv, process.argv[1]];

export function sweepCommand(): Command {
  const cmd = new Command('sweep')
    .description(
      'Train every mechanism x learning rate x seed on one task (resumable: finished runs are skipped, unfinished ones resume), then write a results table and figures',
    )
    .argument(
      '<task>',
      'a task of `urgate train` (copy, adding, forgetting, smnist, pmnist, sfmnist, pfmnist, scifar, pcifar, l2e), or lm (`urgate train lm` runs)',
    )
    .argument('[lmTrainArgs...]', 'lm: `urgate train lm` flags shared by every run, after --')
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
  return addTaskOptions(cmd)
    .option('--cores <list>', 'l2e: comma-separated cores, of lstm, gru, rmc', list, ['lstm'])
    .option('--cache <dir>', 'lm: token cache of `urgate lm prepare`', 'runs/lm/cache')
    .option('--out <dir>', 'sweep directory (default runs/sweep-<task>)')
    .option('--report-only', 'do not train; rewrite the table and figures from the runs present')
    .addHelpText(
      'after',
      '\nLayout: <out>/runs/<MECH><CORE>-lr<lr>-seed<s>/ (one `urgate train` run each), <out>/results.md, <out>/results.json,\n<out>/figures/learning-curves.{svg,png} (median and quartile band over seeds),\n<out>/figures/final-metric.{svg,png} (the final metric per seed; pixel tasks: test accuracy), <out>/figures/forget-gates.{svg,png}.\n\nExample:\n  urgate sweep copy --mechanisms -,UR- --seeds 3 --lrs 1e-3 --length 100 --hidden-size 128 --steps 4000 --jobs 2 --out runs/sweep-copy\n  urgate sweep l2e --cores lstm,rmc --mechanisms -,UR- --seeds 3 --length 4 --nesting 2 --steps 2000 --out runs/sweep-l2e\n  urgate sweep lm --mechanisms -,UR- --seeds 2 --cache runs/lm/cache -- --hidden-size 256 --steps 240',
    )
    .action(
      reportErrors(
        'sweep',
        processIO,
        async (task: string, lmTrainArgs: string[], flags: SweepFlags) => {
          const experiments = await import('@urgate/experiments');
          const out = flags.out ?? join('runs', `sweep-${task}`);
          const seeds = Array.from({ length: flags.seeds }, (_, k) => flags.firstSeed + k);
          const settings = {
            out,
            jobs: flags.jobs,
            reportOnly: flags.reportOnly,
            urgate: urgateCommand(),
            say: (line: string) =>
              process.stderr.write(`[sweep ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
          };
          if (task !== 'lm' && lmTrainArgs.length > 0)
            throw new Error(
              `unexpected arguments ${lmTrainArgs.join(' ')} (only lm takes \`-- <lm train flags>\`)`,
            );
          const { task: _, ...taskFlags } = trainingInput(task, flags);
          const l2eOnly = [
            flags.grammar,
            flags.programTask,
            flags.nesting,
            flags.curriculum,
            flags.memSlots,
          ];
          if (
            task === 'lm' &&
            (Object.keys(taskFlags).length > 0 || l2eOnly.some((v) => v !== undefined))
          )
            throw new Error(
              'lm: give `urgate train lm` flags after --, e.g. `urgate sweep lm -- --hidden-size 256`',
            );
          const { mechanisms, lrs, cores } = flags;
          const r =
            task === 'lm'
              ? await experiments.sweepLm(
                  {
                    mechanisms,
                    seeds,
                    cache: flags.cache ?? 'runs/lm/cache',
                    trainArgs: lmTrainArgs,
                  },
                  settings,
                )
              : task === 'l2e'
                ? await experiments.sweepL2eTask(
                    l2eInput(flags),
                    { cores, mechanisms, seeds, lrs },
                    settings,
                  )
                : await experiments.sweepTask(
                    trainingInput(task, flags) as import('@urgate/train').TaskRunInput,
                    { mechanisms, seeds, lrs },
                    settings,
                  );
          process.stdout.write(`${r.markdown}\n${experiments.sweepFilesText(settings, r)}`);
          if (r.failed > 0)
            throw new Error(
              `${r.failed} run(s) failed; see their train.log, then rerun the same command to resume`,
            );
        },
      ),
    );
}
