// The options of `urgate train <task>` and `urgate sweep <task>` and their mapping to the
// trainers' run input: the options every task shares (--core, --hidden-size, --steps, ...) and the
// l2e task's own (grammar, task type, nesting, curriculum, the RMC's size).
import type { Command } from 'commander';
import {
  downsizeOption,
  finiteNumber,
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
  tMaxOption,
} from './commands/common.js';

/** Drops the options not given, so that the trainers' defaults apply. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Options shared by `train` and `sweep` (everything but mechanism, lr and seed in a sweep). */
interface TrainingFlags {
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

function addTrainingOptions(cmd: Command): Command {
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
    .addOption(downsizeOption())
    .addOption(tMaxOption())
    .option(
      '--engine <engine>',
      'native (default): the model as one native object (C++ kernels, no tfjs); reference: the pure-tfjs model with autodiff (slow; for checking; needs no native addon); recorded in the config and result.json',
    );
}

export function trainingInput(task: string, flags: TrainingFlags): Record<string, unknown> {
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

interface L2eFlags {
  grammar?: string;
  programTask?: string;
  nesting?: number;
  curriculum?: string;
  memSlots?: number;
  headSize?: number;
  numHeads?: number;
}

function addL2eOptions(cmd: Command): Command {
  return cmd
    .option('--grammar <g>', 'l2e: deepmind (Sonnet, default) | zaremba (Zaremba & Sutskever)')
    .option(
      '--program-task <t>',
      'l2e, DeepMind grammar: addition | control | all (the paper\'s "program", default) | algebra | alg-ctrl | copy | double | reverse',
    )
    .option(
      '--nesting <n>',
      'l2e: maximum nesting (operations per program; default 2). --length is the literal length (default 5)',
      positiveInteger,
    )
    .option(
      '--curriculum <c>',
      'l2e: baseline | naive | mix (default) | combine (Zaremba: combined)',
    )
    .option('--mem-slots <n>', 'l2e with --core rmc: memory slots (default 2)', positiveInteger)
    .option('--head-size <n>', 'l2e with --core rmc: width of a head (default 64)', positiveInteger)
    .option('--num-heads <n>', 'l2e with --core rmc: attention heads (default 2)', positiveInteger);
}

/** The l2e run input from command-line flags; options of the other tasks are refused by name. */
export function l2eInput(
  flags: TaskFlags,
): import('@urgate/train').L2eRunInput & Record<string, unknown> {
  const foreign = {
    zoneout: '--zoneout',
    gateBias: '--gate-bias',
    dataDir: '--data-dir',
    epochs: '--epochs',
    downsize: '--downsize',
    tMax: '--t-max',
  } as const;
  for (const [key, flag] of Object.entries(foreign))
    if (flags[key as keyof typeof foreign] !== undefined)
      throw new Error(`${flag}: not an option of the l2e task`);
  return defined({
    task: 'l2e',
    grammar: flags.grammar,
    programTask: flags.programTask,
    length: flags.length,
    nesting: flags.nesting,
    curriculum: flags.curriculum,
    core: flags.core,
    hiddenSize: flags.hiddenSize,
    numLayers: flags.layers,
    memSlots: flags.memSlots,
    headSize: flags.headSize,
    numHeads: flags.numHeads,
    steps: flags.steps,
    batchSize: flags.batchSize,
    clip: flags.clip,
    evalEvery: flags.evalEvery,
    evalSize: flags.evalSize,
    checkpointEvery: flags.checkpointEvery,
    engine: flags.engine,
  });
}

/** The options of every task and the l2e task's own, as `train` and `sweep` take them. */
export type TaskFlags = TrainingFlags & L2eFlags;

export function addTaskOptions(cmd: Command): Command {
  return addL2eOptions(addTrainingOptions(cmd));
}
