import type { Block, Core, Mechanism } from '@urgate/spec';

/** One recurrent layer as the exporter needs it: the checkpoint's W and b + bOffset, with its column layout. */
export interface ExportLayer {
  core: Core;
  mechanism: Mechanism;
  inputSize: number;
  hiddenSize: number;
  downsize: number;
  blocks: Block[];
  cols: number;
  /** `[inputSize + hiddenSize, cols]`, row-major. */
  W: Float32Array;
  /** `b + bOffset`, `[cols]`. */
  bias: Float32Array;
}

/** Zoneout rates; at inference the state update uses their expectation. */
export interface Zoneout {
  c: number;
  h: number;
}

export interface LanguageModelSpec {
  kind: 'lm';
  layers: ExportLayer[];
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  /** `[V, E]`. */
  embedding: Float32Array;
  norm: { gamma: Float32Array; beta: Float32Array } | null;
  /** `W` is `[d, V]`, or null with tied embeddings (the output reads `embeddingᵀ`). */
  output: { W: Float32Array | null; b: Float32Array };
  zoneout: Zoneout;
}

export interface ClassifierSpec {
  kind: 'classifier';
  layers: ExportLayer[];
  inputSize: number;
  hiddenSize: number;
  numClasses: number;
  head: { W1: Float32Array; b1: Float32Array; W2: Float32Array; b2: Float32Array; hidden: number };
  zoneout: Zoneout;
}

/** Learning-to-Execute encoder-decoder: one-hot characters in, character logits out. */
export interface L2eSpec {
  kind: 'l2e';
  layers: ExportLayer[];
  vocabSize: number;
  hiddenSize: number;
  /** `W` is `[d, V]`. */
  output: { W: Float32Array; b: Float32Array };
}

export type ModelSpec = LanguageModelSpec | ClassifierSpec | L2eSpec;
