import { Command } from 'commander';
import { positiveInteger, processIO, reportErrors } from './common.js';

interface ReproFlags {
  smoke?: boolean;
  out?: string;
  docs?: string;
  jobs: number;
  seeds?: number;
}

/** How the reproduction's child processes start `urgate`: this command line's node and script. */
const urgateCommand = (): string[] => [process.execPath, ...process.execArgv, process.argv[1]];

function runOrResume(resume: boolean): Command {
  return new Command(resume ? 'resume' : 'run')
    .description(
      resume
        ? 'Continue an interrupted reproduction: finished runs are kept, unfinished ones resume from their checkpoints'
        : 'Run a reproduction (resumable), then publish its table and figures to the docs and rewrite REPRODUCTION.md',
    )
    .argument('<name>', 'a reproduction of `urgate repro list`')
    .argument(
      '[sweepArgs...]',
      'more `urgate sweep` flags, after -- (a later value of a flag wins)',
    )
    .option(
      '--smoke',
      'a seconds-long pipeline check: tiny models, few steps, 2 seeds, docs under <out>/docs',
    )
    .option(
      '--out <dir>',
      'sweep directory (default runs/repro-<name>, runs/repro-<name>-smoke with --smoke)',
    )
    .option('--docs <dir>', 'where results are published (default packages/experiments/docs)')
    .option(
      '--jobs <n>',
      'runs trained at the same time, each in its own process',
      positiveInteger,
      1,
    )
    .option(
      '--seeds <n>',
      "seeds per setting (default the reproduction's, usually 3)",
      positiveInteger,
    )
    .action(
      reportErrors(
        `repro ${resume ? 'resume' : 'run'}`,
        processIO,
        async (name: string, extra: string[], flags: ReproFlags) => {
          const { runReproduction } = await import('@urgate/experiments');
          const files = await runReproduction(name, {
            urgate: urgateCommand(),
            scale: flags.smoke ? 'smoke' : 'full',
            jobs: flags.jobs,
            extra,
            resume,
            ...(flags.out !== undefined ? { out: flags.out } : {}),
            ...(flags.docs !== undefined ? { docs: flags.docs } : {}),
            ...(flags.seeds !== undefined ? { seeds: flags.seeds } : {}),
          });
          process.stdout.write(`published:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
        },
      ),
    );
}

export function reproCommand(): Command {
  return new Command('repro')
    .description(
      "The paper's reproductions at small scale: list them, run or resume one (a sweep of `urgate train` / `urgate train lm` runs), write the report",
    )
    .addCommand(
      new Command('list')
        .description('The reproductions, whether their results are published, and what each runs')
        .option('--docs <dir>', 'where results are published (default packages/experiments/docs)')
        .action(
          reportErrors('repro list', processIO, async (flags: { docs?: string }) => {
            const { listReproductions } = await import('@urgate/experiments');
            process.stdout.write(`${listReproductions(flags.docs).join('\n')}\n`);
          }),
        ),
    )
    .addCommand(runOrResume(false))
    .addCommand(runOrResume(true))
    .addCommand(
      new Command('report')
        .description("Rewrite REPRODUCTION.md (each claim's verdict) from the published results")
        .option('--docs <dir>', 'where results are published (default packages/experiments/docs)')
        .action(
          reportErrors('repro report', processIO, async (flags: { docs?: string }) => {
            const { writeReproductionReport } = await import('@urgate/experiments');
            process.stdout.write(`${await writeReproductionReport(flags.docs)}\n`);
          }),
        ),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  urgate repro list\n  urgate repro run copy --jobs 2\n  urgate repro run lm --smoke\n  urgate repro resume pixel --jobs 2 -- --steps 4000\n  urgate repro report',
    );
}
