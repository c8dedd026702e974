import type { Block, Core, Mechanism, ResolvedRmcConfig } from '@urgate/contract';

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
  /**
   * Full softmax: `W` is `[d, V]`, or null with tied embeddings (the output reads `embeddingᵀ`).
   * Null with an adaptive softmax.
   */
  output: { W: Float32Array | null; b: Float32Array } | null;
  adaptive: ExportAdaptiveSoftmax | null;
  zoneout: Zoneout;
}

/** An adaptive softmax (@urgate/contract LAYOUT.md "Adaptive softmax") as the exporter needs it. */
export interface ExportAdaptiveSoftmax {
  cutoffs: number[];
  /** `[d, c0]`, or null with tied embeddings (the shortlist reads the embedding's rows [0, c0)). */
  shortlist: Float32Array | null;
  /** `[d, n]`. */
  clusters: Float32Array;
  /** `[c0 + n]`. */
  headB: Float32Array;
  /** Per cluster: words [begin, end), proj `[d, hidden]`, out `[hidden, end - begin]`. */
  tails: { begin: number; end: number; hidden: number; proj: Float32Array; out: Float32Array }[];
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

/** A Relational Memory Core: its resolved config and every tensor of `rmcParamLayout`, by name. */
export interface ExportRmc {
  config: ResolvedRmcConfig;
  params: Record<string, { shape: number[]; data: Float32Array }>;
}

/** Learning-to-Execute encoder-decoder: one-hot characters in, character logits out. */
export interface L2eSpec {
  kind: 'l2e';
  /** LSTM/GRU layers ([] when the core is the RMC). */
  layers: ExportLayer[];
  rmc: ExportRmc | null;
  vocabSize: number;
  /** Width of the core's output: hiddenSize, or memSlots · memSize for the RMC. */
  hiddenSize: number;
  /** `W` is `[d, V]`. */
  output: { W: Float32Array; b: Float32Array };
}

export type ModelSpec = LanguageModelSpec | ClassifierSpec | L2eSpec;
