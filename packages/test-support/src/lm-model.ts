// A tiny UR-LSTM language model with a word tokenizer, saved as a checkpoint and exported to ONNX.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initStackParams, type LayerParams, stackParamsToTensors } from '@urgate/cells';
import { saveCheckpoint } from '@urgate/contract';
import { exportCheckpoint } from '@urgate/onnx';
import { SeededRandom } from '@urgate/random';
import { serializeTokenizer, type Tokenizer, WordTokenizer } from '@urgate/wikitext';

export const WORDS = [
  '<unk>',
  '<eos>',
  'the',
  'cat',
  'sat',
  'on',
  'mat',
  'a',
  'dog',
  'ran',
  'to',
  'house',
  '=',
  'and',
  'it',
  '.',
];

export interface TinyModel {
  dir: string;
  checkpoint: string;
  step: string;
  sequence: string;
  gates: string;
  tokenizer: Tokenizer;
  /** The weights exported: the layers' (cells' layout) and the embedding `[V, d]`. */
  layers: LayerParams[];
  embedding: Float32Array;
}

/** Exports a 2-layer UR-LSTM (V = 16, E = d = 8) to `<dir>/tiny.{step,sequence,gates}.onnx`. */
export function tinyModel(
  options: { withTokenizer?: boolean; seed?: number } = {},
): Promise<TinyModel> {
  return lmModel({ ...options, tokenizer: new WordTokenizer(WORDS), hiddenSize: 8, numLayers: 2 });
}

export interface LmModelOptions {
  /** Word or SentencePiece; its vocabulary size is V. */
  tokenizer: Tokenizer;
  /** E = d. */
  hiddenSize: number;
  numLayers: number;
  withTokenizer?: boolean;
  seed?: number;
}

/** A UR-LSTM language model with random weights and a tokenizer, exported as `tiny.*.onnx`. */
export async function lmModel(options: LmModelOptions): Promise<TinyModel> {
  const seed = options.seed ?? 7;
  const { tokenizer, hiddenSize: d, numLayers } = options;
  const V = tokenizer.vocabSize;
  const dir = await mkdtemp(join(tmpdir(), 'urgate-serve-'));
  const model = {
    kind: 'lm',
    core: 'lstm',
    mechanism: 'UR-',
    numLayers,
    vocabSize: V,
    embeddingSize: d,
    hiddenSize: d,
    layerNorm: false,
    tiedEmbeddings: false,
    zoneout: null,
  } as const;
  const rng = new SeededRandom(seed);
  const random = (shape: number[], scale: number) => ({
    shape,
    data: Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => scale * rng.uniform(-1, 1),
    ),
  });
  const layers = initStackParams(
    { core: 'lstm', mechanism: 'UR-', numLayers, inputSize: d, hiddenSize: d },
    seed,
  );
  const tensors = {
    embedding: random([V, d], 1),
    ...(await stackParamsToTensors(layers)),
    'output.W': random([d, V], 16 / Math.sqrt(d)),
    'output.b': random([V], 0.5),
  };
  const checkpoint = join(dir, 'tiny.safetensors');
  await saveCheckpoint(checkpoint, tensors, {
    model,
    ...(options.withTokenizer === false ? {} : { tokenizer: serializeTokenizer(tokenizer) }),
    training: { seed },
  });
  const files = await exportCheckpoint(checkpoint, dir, { name: 'tiny' });
  return {
    dir,
    checkpoint,
    step: files.step as string,
    sequence: files.sequence,
    gates: files.gates as string,
    tokenizer,
    layers,
    embedding: tensors.embedding.data,
  };
}
