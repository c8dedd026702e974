import { Command } from 'commander';
import { type CliIO, positiveInteger, processIO, reportErrors } from './common.js';

export interface ExportCommandOptions {
  out: string;
  /** File name stem (default: the checkpoint's name without extension). */
  name?: string;
  /** Also write a Triton model repository here. */
  triton?: string;
  maxBatchSize: number;
}

export interface ExportReport {
  kind: import('@urgate/onnx').ExportResult['kind'];
  step: string | null;
  sequence: string;
  gates: string | null;
  triton: string[];
}

/** Exports a checkpoint to ONNX (and optionally a Triton repository); loads tfjs (checkpoint reading). */
export async function runExport(
  checkpoint: string,
  options: ExportCommandOptions,
): Promise<ExportReport> {
  const { exportCheckpoint, writeTritonRepository } = await import('@urgate/onnx');
  const files = await exportCheckpoint(checkpoint, options.out, { name: options.name });
  const name =
    options.name ?? files.sequence.replace(/^.*[\\/]/, '').replace(/\.sequence\.onnx$/, '');
  const triton =
    options.triton === undefined
      ? []
      : (
          await writeTritonRepository(checkpoint, options.triton, {
            name,
            maxBatchSize: options.maxBatchSize,
          })
        ).models;
  return {
    kind: files.kind,
    step: files.step,
    sequence: files.sequence,
    gates: files.gates,
    triton,
  };
}

export function exportCommand(io: CliIO = processIO): Command {
  return new Command('export')
    .description(
      'Export a checkpoint to ONNX (opset 17): <name>.step.onnx (generation), <name>.sequence.onnx (scoring) and <name>.gates.onnx (effective forget gates) for a language model, <name>.sequence.onnx for a classifier or an l2e encoder-decoder',
    )
    .argument('<checkpoint>', 'checkpoint file (.safetensors written by urgate training)')
    .requiredOption('--out <dir>', 'directory for the .onnx files (created if missing)')
    .option('--name <name>', 'file name stem (default: the checkpoint file name)')
    .option(
      '--triton <dir>',
      'also write a Triton Inference Server model repository to this directory',
    )
    .option('--max-batch-size <n>', 'Triton max_batch_size of the step model', positiveInteger, 32)
    .addHelpText(
      'after',
      '\nExample:\n  urgate export runs/lm/best.safetensors --out exported --name urlstm --triton triton-repo',
    )
    .action(
      reportErrors('export', io, async (checkpoint: string, options: ExportCommandOptions) => {
        const r = await runExport(checkpoint, options);
        if (r.step) io.out(`step graph:     ${r.step}\n`);
        io.out(`sequence graph: ${r.sequence}\n`);
        if (r.gates) io.out(`gates graph:    ${r.gates}\n`);
        for (const dir of r.triton) io.out(`triton model:   ${dir}\n`);
      }),
    );
}
