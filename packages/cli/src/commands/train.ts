import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import {
  defaultRunDir,
  finiteNumber,
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
  processIO,
  reportErrors,
} from './common.js';
import { addL2eOptions, type L2eFlags, l2eInput, trainL2eRun } from './l2e.js';

// @urgate/train (and with it tfjs and the native kernels) loads inside the actions only.

const TASK_HELP =
  'copy | adding | forgetting (synthetic, fresh batches every step) | smnist | pmnist | sfmnist | pfmnist | scifar | pcifar (pixel-by-pixel classification; s = sequential, p = bit-reversal permuted; fmnist = Fashion-MNIST) | l2e (program evaluation, Learning to Execute); lm (language model) is `urgate train lm`, with its own options';

/** Options shared by `train` and `sweep` (everything but mechanism, lr and seed in a sweep). */
export interface TrainingFlags {
  core?: string;
  hiddenSize?: number;
  layers?: number;
  length?: number;
  steps?: number;
  epochs?: number;
  batchSize?: number;
  clip?: number;
  zoneout?: boolean;
  gateBias?: number;
  dataDir?: string;
  evalEvery?: number;
  evalSize?: number;
  checkpointEvery?: number;
  downsize?: number;
  tMax?: number;
  engine?: string;
}

export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--core <core>', 'recurrent core: lstm | gru (default lstm)')
    .option(
      '--hidden-size <n>',
      'hidden units per layer (default 128; forgetting 64)',
      positiveInteger,
    )
    .option('--layers <n>', 'stacked recurrent layers (default 1)', positiveInteger)
    .option(
      '--length <n>',
      'copy: delay N (sequence N+20, default 100); adding: length N (default 200)',
      positiveInteger,
    )
    .option(
      '--steps <n>',
      'optimizer steps (default 2000; pixel 1000; forgetting 10000)',
      positiveInteger,
    )
    .option(
      '--epochs <x>',
      'pixel tasks: epochs over the training set instead of --steps',
      positiveNumber,
    )
    .option(
      '--batch-size <n>',
      'minibatch size, global under mpirun/srun: each rank trains its share (default 64; pixel tasks 50)',
      positiveInteger,
    )
    .option(
      '--clip <x>',
      'global gradient-norm clip, 0 = none (default 1.0, as the paper)',
      finiteNumber,
    )
    .option(
      '--zoneout',
      'pixel tasks: zoneout (LSTM c 0.5 / h 0.05, GRU 0.1) and dropout 0.5 in the head',
    )
    .option(
      '--gate-bias <x>',
      'initialise every gate bias to x (the forgetting task uses 6)',
      finiteNumber,
    )
    .option(
      '--data-dir <dir>',
      'pixel tasks: directory of the MNIST (IDX) or CIFAR-10 (binary) files',
    )
    .option('--eval-every <n>', 'evaluate every n steps (default 100; pixel 200)', positiveInteger)
    .option(
      '--eval-size <n>',
      'held-out batches (synthetic, default 4) / validation images (pixel, default 1000, 0 = all)',
      nonNegativeInteger,
    )
    .option(
      '--checkpoint-every <n>',
      'save the training state every n steps (default 500)',
      positiveInteger,
    )
    .option(
      '--downsize <C>',
      'OM-/UM-: master gates are hidden/C wide (default 16)',
      positiveInteger,
    )
    .option(
      '--t-max <T>',
      'C-: chrono initialisation horizon Tmax (default the hidden size)',
      positiveNumber,
    )
    .option(
      '--engine <engine>',
      'native (default): the C++ kernels; reference: the pure-tfjs cells with autodiff (slow; for checking); recorded in the config and result.json',
    );
}

export function trainingInput(task: string, flags: TrainingFlags): Record<string, unknown> {
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return defined({
    task,
    core: flags.core,
    hiddenSize: flags.hiddenSize,
    numLayers: flags.layers,
    length: flags.length,
    steps: flags.steps,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    clip: flags.clip,
    zoneout: flags.zoneout,
    gateBias: flags.gateBias,
    dataDir: flags.dataDir,
    evalEvery: flags.evalEvery,
    evalSize: flags.evalSize,
    checkpointEvery: flags.checkpointEvery,
    downsize: flags.downsize,
    tMax: flags.tMax,
    engine: flags.engine,
  });
}

interface TrainFlags extends TrainingFlags, L2eFlags {
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
      : `loss ${e.loss.toFixed(4)}${e.accuracy !== undefined ? `, accuracy ${(100 * e.accuracy).toFixed(2)}%` : ''}`;
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
  return addL2eOptions(addTrainingOptions(cmd))
    .option('--out <dir>', 'run directory (default runs/<task>-<mechanism><core>-seed<seed>)')
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
        // The task trainer's entry loads no tfjs (its reference engine loads it when asked for).
        const { resolveTaskRunConfig, trainTask } = await import('@urgate/train/tasks');
        const l2eConfig = async (input: import('@urgate/train').L2eRunInput) =>
          (await import('@urgate/train')).resolveL2eRunConfig(input);
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
        const result = await trainTask(config, {
          outDir: out,
          resume: flags.resume === true,
          progress: flags.progress ? process.stderr : null,
        });
        // Under an MPI launcher every rank ran the same job: rank 0 alone reports it.
        if ((await import('@urgate/mpi')).world().rank === 0)
          process.stdout.write(
            `${flags.json ? JSON.stringify(result, null, 2) : summary(result, out)}\n`,
          );
      }),
    );
}
