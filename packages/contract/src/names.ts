/**
 * Tensor names of urgate checkpoints (LAYOUT.md "Parameters of one layer", "Models built from
 * the layers"): the only place they are spelled, for the trainers, the ONNX reader and tests.
 */
export type LayerTensor = 'W' | 'b' | 'bOffset';

/** `layers.<l>.W`, `layers.<l>.b`, `layers.<l>.bOffset`. */
export function layerTensorName(layer: number, tensor: LayerTensor): string {
  return `layers.${layer}.${tensor}`;
}

/** Language model (`kind: "lm"`) tensors besides the layers. */
export const LM_TENSORS = {
  embedding: 'embedding',
  normGamma: 'norm.gamma',
  normBeta: 'norm.beta',
  outputW: 'output.W',
  outputB: 'output.b',
} as const;

/** The adaptive softmax's head tensors (LAYOUT.md "Adaptive softmax"), replacing output.W/b. */
export const ADAPTIVE_SOFTMAX_TENSORS = {
  /** Untied only: with tied embeddings the shortlist's vectors are the embedding's rows. */
  shortlist: 'adaptive.head.shortlist',
  clusters: 'adaptive.head.clusters',
  headB: 'adaptive.head.b',
} as const;

export type AdaptiveTailTensor = 'proj' | 'out';

/** `adaptive.tail.<i>.proj` [d, h_i], `adaptive.tail.<i>.out` [h_i, size_i]. */
export function adaptiveTailTensorName(cluster: number, tensor: AdaptiveTailTensor): string {
  return `adaptive.tail.${cluster}.${tensor}`;
}

/** Sequence classifier (`kind: "classifier"`) head tensors. */
export const CLASSIFIER_TENSORS = {
  W1: 'head.W1',
  b1: 'head.b1',
  W2: 'head.W2',
  b2: 'head.b2',
} as const;

/** Learning-to-Execute encoder-decoder (`kind: "l2e"`) head tensors. */
export const L2E_TENSORS = { outputW: 'output.W', outputB: 'output.b' } as const;

/** Copy and adding task heads (`kind: "task"`). */
export const TASK_HEAD_TENSORS = { W: 'head.W', b: 'head.b' } as const;

/** Epsilon of every layer norm: the language model's and the RMC's (trainers and ONNX graphs alike). */
export const LAYER_NORM_EPSILON = 1e-5;
