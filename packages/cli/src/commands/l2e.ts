// `urgate train l2e` and `urgate sweep l2e`: program evaluation (Learning to Execute). The
// options shared with the other tasks (--core, --hidden-size, --steps, ...) keep their names;
// these add the grammar, task type, nesting, curriculum and the RMC's size.
import type { Command } from 'commander';
import { positiveInteger } from './common.js';
import type { TrainingFlags } from './train.js';

export interface L2eFlags {
  grammar?: string;
  programTask?: string;
  nesting?: number;
  curriculum?: string;
  memSlots?: number;
  headSize?: number;
  numHeads?: number;
}

export function addL2eOptions(cmd: Command): Command {
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
  flags: TrainingFlags & L2eFlags,
): import('@urgate/train').L2eRunInput & Record<string, unknown> {
  const foreign = {
    zoneout: '--zoneout',
    gateBias: '--gate-bias',
    dataDir: '--data-dir',
    epochs: '--epochs',
  } as const;
  for (const [key, flag] of Object.entries(foreign))
    if (flags[key as keyof typeof foreign] !== undefined)
      throw new Error(`${flag}: not an option of the l2e task`);
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
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

function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

export function l2eSummary(r: import('@urgate/train').L2eRunResult, out: string): string {
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

/** Trains one l2e run (the `urgate train l2e` action after its settings are resolved). */
export async function trainL2eRun(
  config: import('@urgate/train').L2eRunConfig,
  flags: { out?: string; resume?: boolean; progress: boolean; json?: boolean },
): Promise<void> {
  const { l2eModelName, trainL2e } = await import('@urgate/train');
  const out =
    flags.out ??
    `runs/l2e-${config.grammar}-${config.programTask}-${l2eModelName(config)}-seed${config.seed}`;
  const result = await trainL2e(config, {
    outDir: out,
    resume: flags.resume === true,
    progress: flags.progress ? process.stderr : null,
  });
  // Under an MPI launcher every rank ran the same job: rank 0 alone reports it.
  if ((await import('@urgate/mpi')).world().rank === 0)
    process.stdout.write(
      `${flags.json ? JSON.stringify(result, null, 2) : l2eSummary(result, out)}\n`,
    );
}

export interface L2eEvalReport {
  split: 'train' | 'valid' | 'test';
  onnx: string;
  grammar: string;
  programTask: string;
  length: number;
  nesting: number;
  programs: number;
  chars: number;
  /** Mean cross-entropy per target character (nats). */
  loss: number;
  charAccuracy: number;
  programAccuracy: number;
  seconds: number;
}

const GENERATOR_SPLIT = { train: 'train', valid: 'validation', test: 'test' } as const;

/**
 * Accuracy of an exported l2e encoder-decoder (onnxruntime) on held-out programs of the run's
 * grammar and task at its hardest level: for `test`, the programs of the trainer's evaluations
 * (the metadata carries the run's settings), so the numbers equal its last evaluation.
 */
export async function runL2eEval(
  split: L2eEvalReport['split'],
  model: import('@urgate/onnx/runtime').UrgateModel,
): Promise<L2eEvalReport> {
  const [{ decodeL2e }, train] = await Promise.all([
    import('@urgate/onnx/runtime'),
    import('@urgate/train'),
  ]);
  const saved = (model.metadata.training as { config?: unknown } | null)?.config;
  if (saved === undefined)
    throw new Error(`${model.path} carries no training settings in its metadata`);
  const config = train.resolveL2eRunConfig(train.l2eRunInput(saved as never));
  const batches = train.openL2eData(config).heldOutBatches(GENERATOR_SPLIT[split], config.evalSize);
  const started = performance.now();
  const total = { correct: 0, chars: 0, solved: 0, programs: 0, nll: 0 };
  for (const batch of batches) {
    const logits = await decodeL2e(model, batch);
    // Target rows in the trainer's order (sample by sample) from [outputSteps, B, V].
    const V = batch.vocabSize;
    const rows = new Float32Array(batch.targets.length * V);
    for (let b = 0; b < batch.batchSize; b++)
      for (let r = batch.targetOffsets[b]; r < batch.targetOffsets[b + 1]; r++) {
        const at = ((r - batch.targetOffsets[b]) * batch.batchSize + b) * V;
        rows.set(logits.subarray(at, at + V), r * V);
      }
    const s = train.scoreLogits(rows, batch);
    total.correct += s.correct;
    total.chars += s.chars;
    total.solved += s.solved;
    total.programs += s.programs;
    total.nll += train.rowNll(rows, V, batch.targets).reduce((a, b) => a + b, 0);
  }
  return {
    split,
    onnx: model.path,
    grammar: config.grammar,
    programTask: config.programTask,
    length: config.length,
    nesting: config.nesting,
    programs: total.programs,
    chars: total.chars,
    loss: total.nll / total.chars,
    charAccuracy: total.correct / total.chars,
    programAccuracy: total.solved / total.programs,
    seconds: (performance.now() - started) / 1000,
  };
}

export function formatL2eEvalReport(r: L2eEvalReport): string {
  return [
    `${r.split}: ${r.programs} held-out programs (${r.grammar} grammar, task ${r.programTask}, length ${r.length}, nesting ${r.nesting}; ${r.onnx})`,
    `  per-character accuracy  ${percent(r.charAccuracy)} of ${r.chars} target characters`,
    `  per-program accuracy    ${percent(r.programAccuracy)}`,
    `  loss                    ${r.loss.toFixed(4)} nats per character`,
    `  ${r.seconds.toFixed(1)} s`,
  ].join('\n');
}
