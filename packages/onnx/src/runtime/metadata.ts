/** Which function an exported graph computes; see README "Graphs". */
export type GraphKind =
  | 'lm-step'
  | 'lm-sequence'
  | 'lm-gates'
  | 'lm-step-triton'
  | 'classifier'
  | 'l2e';

/** The JSON stored under metadata_props key `urgate` of every exported model. */
export interface UrgateOnnxMetadata {
  format: 'urgate-onnx';
  version: 1;
  graph: GraphKind;
  /** The checkpoint's `model` object (kind, core, mechanism, numLayers, hiddenSize, vocabSize, ...). */
  model: {
    kind: 'lm' | 'classifier' | 'l2e';
    core: 'lstm' | 'gru';
    mechanism: string;
    numLayers: number;
    hiddenSize: number;
    vocabSize?: number;
    numClasses?: number;
    [key: string]: unknown;
  };
  /** The checkpoint's tokenizer description (type, vocabulary or SentencePiece model file reference), or null. */
  tokenizer: unknown;
  /** The checkpoint's training configuration, or null. */
  training: unknown;
  /** Where the graph came from. */
  source: { checkpoint: string; sha256: string };
  /** Layout of the state tensors `h_in`/`c_in`: `[L, B, d]` or, for Triton, `[B, L, d]`. */
  stateLayout: 'layer-major' | 'batch-major' | null;
}

export const METADATA_KEY = 'urgate';
