import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { addTaskOptions, l2eInput, type TaskFlags, trainingInput } from '../training-options.js';
import {
  defaultRunDir,
  nonNegativeInteger,
  percent,
  positiveNumber,
  processIO,
  reportErrors,
} from './common.js';

// @urgate/train (and with it tfjs and the native kernels) loads inside the actions only.

const TASK_HELP =
  'copy | adding | forgetting (synthetic, fresh batches every step) | smnist | pmnist | sfmnist | pfmnist | scifar | pcifar (pixel-by-pixel classification; s = sequential, p = bit-reversal permuted; fmnist = Fashion-MNIST) | l2e (program evaluation, Learning to Execute); lm (language model) is `urgate train lm`, with its own options';

interface TrainFlags extends TaskFlags {
  mechanism?: string;
  lr?: number;
  seed?: number;
  out?: string;
  resume?: boolean;
  config?: string;
  progress: boolean;
  json?: boolean;
}

function summary(r: import('@urgate/train').TaskRunResult, out: string): string {
  const m = (e: { loss: number; accuracy?: number } | null) =>
    e === null
      ? '–'
      : `loss ${e.loss.toFixed(4)}${e.accuracy !== undefined ? `, accuracy ${percent(e.accuracy)}` : ''}`;
  const c = r.config;
  return [
    `${c.task}: ${c.mechanism}${c.core.toUpperCase()} hidden ${c.hiddenSize} x${c.numLayers}, lr ${c.lr}, seed ${c.seed} (${c.engine} engine)`,
    r.outcome === 'diverged'
      ? `outcome: diverged at step ${r.divergence?.step} (${r.divergence?.reason})`
      : `outcome: finished ${r.steps} steps`,
    `final eval: ${m(r.final)}`,
    `best eval: ${r.best ? `${m(r.best)} (step ${r.best.step})` : '–'}`,
    ...(r.test ? [`test: ${m(r.test)}`] : []),
    `ms/step: ${r.msPerStep.toFixed(1)}`,
    `run directory: ${out} (metrics.jsonl, checkpoint.safetensors, model.safetensors, result.json, forget-gates.json)`,
  ].join('\n');
}

function l2eSummary(r: import('@urgate/train').L2eRunResult, out: string): string {
  const c = r.config;
  const size = c.rmc
    ? `${c.rmc.memSlots} slots x ${c.rmc.numHeads} heads x ${c.rmc.headSize}`
    : `hidden ${c.hiddenSize} x${c.numLayers}`;
  const e = (v: import('@urgate/train').L2eEvaluation | null) =>
    v === null
      ? '–'
      : `per-character ${percent(v.charAccuracy)}, per-program ${percent(v.programAccuracy)}, loss ${v.loss.toFixed(4)} (${v.programs} programs)`;
  const model = `${c.mechanism === '-' ? '' : c.mechanism}${c.core.toUpperCase()}`;
  return [
    `l2e ${c.grammar} grammar, task ${c.programTask}, length ${c.length}, nesting ${c.nesting}, ${c.curriculum} curriculum: ${model} ${size}, lr ${c.lr}, seed ${c.seed} (${c.engine} engine)`,
    r.outcome === 'diverged'
      ? `outcome: diverged at step ${r.divergence?.step} (${r.divergence?.reason})`
      : `outcome: finished ${r.steps} steps (curriculum at length ${r.level.length}, nesting ${r.level.nesting})`,
    `held-out test programs at length ${c.length}, nesting ${c.nesting}: ${e(r.final)}`,
    `best: ${r.best ? `${e(r.best)} at step ${r.best.step}` : '–'}`,
    `ms/step: ${r.msPerStep.toFixed(1)}`,
    `run directory: ${out} (metrics.jsonl, checkpoint.safetensors, model.safetensors, result.json)`,
  ].join('\n');
}

interface RunFlags {
  resume?: boolean;
  progress: boolean;
  json?: boolean;
}

/** Runs a trainer into `out` and prints its result (JSON with --json, else `describe`'s summary). */
async function trainAndReport<Config, Result>(
  train: (
    config: Config,
    options: { outDir: string; resume: boolean; progress: NodeJS.WriteStream | null },
  ) => Promise<Result>,
  config: Config,
  out: string,
  flags: RunFlags,
  describe: (result: Result, out: string) => string,
): Promise<void> {
  const result = await train(config, {
    outDir: out,
    resume: flags.resume === true,
    progress: flags.progress ? process.stderr : null,
  });
  // Under an MPI launcher every rank ran the same job: rank 0 alone reports it.
  if ((await import('@urgate/mpi')).world().rank === 0)
    process.stdout.write(
      `${flags.json ? JSON.stringify(result, null, 2) : describe(result, out)}\n`,
    );
}

/** Trains one l2e run (the `urgate train l2e` action after its settings are resolved). */
async function trainL2eRun(
  config: import('@urgate/train').L2eRunConfig,
  flags: RunFlags & { out?: string },
): Promise<void> {
  const { trainL2e } = await import('@urgate/train/l2e');
  // The one default of every training run, the l2e task named with its grammar and program task.
  const out = flags.out ?? defaultRunDir(`l2e-${config.grammar}-${config.programTask}`, config);
  await trainAndReport(trainL2e, config, out, flags, l2eSummary);
}
export function trainCommand(): Command {
  const cmd = new Command('train')
    .description(
      "Train one model on one of the paper's sequence benchmarks, or a language model with `urgate train lm` (Adam, gradient clipping, checkpoints, resume)",
    )
    .argument('[task]', TASK_HELP)
    .option(
      '--mechanism <m>',
      "gate mechanism: - C- O- OM- U- R- UR- UM- OR- (default UR-; 'ur', 'UR-LSTM' accepted)",
    )
    .option('--lr <x>', 'Adam learning rate (default 1e-3; forgetting 1e-4)', positiveNumber)
    .option(
      '--seed <n>',
      'seed of initialisation, data order and masks (default 0)',
      nonNegativeInteger,
    );
  return addTaskOptions(cmd)
    .option(
      '--out <dir>',
      'run directory (default runs/<task>-<mechanism><core>-seed<seed>; l2e: the task is l2e-<grammar>-<program-task>)',
    )
    .option('--resume', "continue from the run directory's checkpoint when there is one")
    .option(
      '--config <file>',
      "read the settings from a run's config.json (as a sweep writes it); other settings are ignored",
    )
    .option('--no-progress', 'no progress output')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  urgate train copy --mechanism UR- --length 100 --hidden-size 128 --steps 4000 --out runs/copy-ur\n  urgate train sfmnist --mechanism - --hidden-size 64 --epochs 1 --out runs/fmnist\n  urgate train pmnist --data-dir ~/data/mnist --zoneout --epochs 150 --hidden-size 512 --batch-size 50\n  urgate train l2e --program-task all --length 4 --nesting 2 --curriculum mix --mechanism UR- --hidden-size 256',
    )
    .action(
      reportErrors('train', processIO, async (task: string | undefined, flags: TrainFlags) => {
        // The task and l2e trainers' entries load no tfjs (their reference engines load it when
        // asked for).
        const { resolveTaskRunConfig, trainTask } = await import('@urgate/train/tasks');
        const l2eConfig = async (input: import('@urgate/train').L2eRunInput) =>
          (await import('@urgate/train/l2e')).resolveL2eRunConfig(input);
        const chosen = {
          ...(flags.mechanism !== undefined ? { mechanism: flags.mechanism } : {}),
          ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
          ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        };
        let config: import('@urgate/train').TaskRunConfig;
        if (flags.config !== undefined) {
          let text: string;
          try {
            text = await readFile(flags.config, 'utf8');
          } catch {
            throw new Error(`--config: cannot read ${flags.config}`);
          }
          let parsed: import('@urgate/train').TaskRunInput;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new Error(`--config: ${flags.config} is not JSON`);
          }
          if (parsed.task === 'l2e') return trainL2eRun(await l2eConfig(parsed), flags);
          config = resolveTaskRunConfig(parsed);
        } else {
          if (task === undefined)
            throw new Error(
              'task: missing; give one of copy, adding, forgetting, smnist, pmnist, sfmnist, pfmnist, scifar, pcifar, l2e',
            );
          if (task === 'l2e')
            return trainL2eRun(await l2eConfig({ ...l2eInput(flags), ...chosen }), flags);
          config = resolveTaskRunConfig({
            ...trainingInput(task, flags),
            ...chosen,
          } as import('@urgate/train').TaskRunInput);
        }
        const out = flags.out ?? defaultRunDir(config.task, config);
        await trainAndReport(trainTask, config, out, flags, summary);
      }),
    );
}
