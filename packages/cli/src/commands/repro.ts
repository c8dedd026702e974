import { Command, Option } from 'commander';
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

const docsOption = () =>
  new Option('--docs <dir>', 'where results are published (default packages/experiments/docs)');

/** `repro list` and `repro report`: read the published results under --docs, print what they say. */
function docsCommand(
  name: string,
  description: string,
  run: (docs: string | undefined) => Promise<string>,
): Command {
  return new Command(name)
    .description(description)
    .addOption(docsOption())
    .action(
      reportErrors(`repro ${name}`, processIO, async (flags: { docs?: string }) => {
        process.stdout.write(`${await run(flags.docs)}\n`);
      }),
    );
}

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
    .addOption(docsOption())
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
      docsCommand(
        'list',
        'The reproductions, whether their results are published, and what each runs',
        async (docs) => (await import('@urgate/experiments')).listReproductions(docs).join('\n'),
      ),
    )
    .addCommand(runOrResume(false))
    .addCommand(runOrResume(true))
    .addCommand(
      docsCommand(
        'report',
        "Rewrite REPRODUCTION.md (each claim's verdict) from the published results",
        async (docs) => (await import('@urgate/experiments')).writeReproductionReport(docs),
      ),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  urgate repro list\n  urgate repro run copy --jobs 2\n  urgate repro run lm --smoke\n  urgate repro resume pixel --jobs 2 -- --steps 4000\n  urgate repro report',
    );
}
