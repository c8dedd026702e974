// `urgate eval` of an exported l2e encoder-decoder: accuracy on held-out programs.

import { percent } from './commands/common.js';

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
