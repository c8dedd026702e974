import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '@urgate/files';
import { type LoadedModel, readCheckpoint } from './checkpoint.js';
import { classifierGraph } from './graph/classifier.js';
import { languageModelGatesGraph } from './graph/gates.js';
import { l2eGraph } from './graph/l2e.js';
import { languageModelSequenceGraph, languageModelStepGraph } from './graph/language-model.js';
import { encodeModel } from './graph/model.js';
import { sealInitializers } from './runtime/integrity.js';
import type { GraphKind, UrgateOnnxMetadata } from './runtime/metadata.js';
import type { ModelSpec } from './spec.js';

export interface ExportOptions {
  /** File name stem; default: the checkpoint's file name without its extension. */
  name?: string;
}

type ModelKind = ModelSpec['kind'];

export interface ExportResult {
  kind: ModelKind;
  /** The step graph (language models only). */
  step: string | null;
  /** The sequence graph: scoring for language models, the whole model otherwise. */
  sequence: string;
  /** The gates graph: effective forget gates per layer, step and unit (language models only). */
  gates: string | null;
}

export interface CheckpointSource {
  loaded: LoadedModel;
  checkpoint: string;
  sha256: string;
}

export async function loadSource(ckptPath: string): Promise<CheckpointSource> {
  const loaded = await readCheckpoint(ckptPath);
  const sha256 = createHash('sha256')
    .update(await readFile(ckptPath))
    .digest('hex');
  return { loaded, checkpoint: basename(ckptPath), sha256 };
}

/** Builds and serialises one graph of the model, with its initializers' checksum in the metadata. */
export function encodeGraph(source: CheckpointSource, graph: GraphKind): Uint8Array {
  return sealInitializers(encodeUnsealed(source, graph), source.checkpoint);
}

function encodeUnsealed(source: CheckpointSource, graph: GraphKind): Uint8Array {
  const { spec, meta } = source.loaded;
  const metadata = (stateLayout: UrgateOnnxMetadata['stateLayout']): UrgateOnnxMetadata => ({
    format: 'urgate-onnx',
    version: 1,
    graph,
    model: meta.model as UrgateOnnxMetadata['model'],
    tokenizer: meta.tokenizer ?? null,
    training: meta.training ?? null,
    source: { checkpoint: source.checkpoint, sha256: source.sha256 },
    stateLayout,
  });
  if (graph === 'l2e') {
    if (spec.kind !== 'l2e')
      throw new Error(`checkpoint ${source.checkpoint} is not a Learning-to-Execute model`);
    return encodeModel(l2eGraph(spec), metadata(null));
  }
  if (graph === 'classifier') {
    if (spec.kind !== 'classifier')
      throw new Error(`checkpoint ${source.checkpoint} is a ${spec.kind} model, not a classifier`);
    return encodeModel(classifierGraph(spec), metadata(null));
  }
  if (spec.kind !== 'lm')
    throw new Error(
      `checkpoint ${source.checkpoint} is a ${spec.kind} model, not a language model`,
    );
  switch (graph) {
    case 'lm-step':
      return encodeModel(
        languageModelStepGraph(spec, { stateLayout: 'layer-major', resetInput: false }),
        metadata('layer-major'),
      );
    case 'lm-step-triton':
      return encodeModel(
        languageModelStepGraph(spec, { stateLayout: 'batch-major', resetInput: true }),
        metadata('batch-major'),
      );
    case 'lm-sequence':
      return encodeModel(languageModelSequenceGraph(spec), metadata('layer-major'));
    case 'lm-gates':
      return encodeModel(languageModelGatesGraph(spec), metadata('layer-major'));
  }
}

/**
 * Exports a checkpoint to `<outDir>/<name>.step.onnx`, `<name>.sequence.onnx` and `<name>.gates.onnx`
 * (language model) or `<name>.sequence.onnx` (classifier). The checkpoint is validated and every graph is built before the
 * first file is written; each file is written atomically.
 */
export async function exportCheckpoint(
  ckptPath: string,
  outDir: string,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  const source = await loadSource(ckptPath);
  const name = opts.name ?? basename(ckptPath).replace(/\.[^.]*$/, '');
  const sequence = join(outDir, `${name}.sequence.onnx`);
  const { kind } = source.loaded.spec;
  if (kind === 'classifier' || kind === 'l2e') {
    await writeFileAtomic(sequence, encodeGraph(source, kind), 'ONNX graph');
    return { kind, step: null, sequence, gates: null };
  }
  const step = join(outDir, `${name}.step.onnx`);
  const gates = join(outDir, `${name}.gates.onnx`);
  const files = [
    { path: step, data: encodeGraph(source, 'lm-step') },
    { path: sequence, data: encodeGraph(source, 'lm-sequence') },
    { path: gates, data: encodeGraph(source, 'lm-gates') },
  ];
  for (const f of files) await writeFileAtomic(f.path, f.data, 'ONNX graph');
  return { kind: 'lm', step, sequence, gates };
}
