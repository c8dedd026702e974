import { layerLayout } from './layout.js';
import type { Core, Mechanism } from './mechanisms.js';
import { LM_TENSORS, layerTensorName } from './names.js';

/** What defines the function of a language model (LAYOUT.md "Models", kind "lm"). */
export interface LmArchitecture {
  core: Core;
  mechanism: Mechanism;
  numLayers: number;
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  layerNorm: boolean;
  tiedEmbeddings: boolean;
  /** Master-gate downsize C and chrono Tmax (absent: the cells' defaults). */
  downsize?: number;
  tMax?: number;
}

/** One named tensor of a model and its row-major shape. */
export interface TensorShape {
  name: string;
  shape: number[];
}

/**
 * The language model's trainable tensors in their one fixed order: the optimizer's, the
 * checkpoint's and the native arena's (each tensor at the sum of the sizes before it).
 * Embedding [V, E]; per layer W [in + d, cols], b [cols]; layer norm gamma, beta [d];
 * untied output W [d, V]; output b [V].
 */
export function lmTensorShapes(arch: LmArchitecture): TensorShape[] {
  const { vocabSize: V, embeddingSize: E, hiddenSize: d } = arch;
  const shapes: TensorShape[] = [{ name: LM_TENSORS.embedding, shape: [V, E] }];
  for (let l = 0; l < arch.numLayers; l++) {
    const inputSize = l === 0 ? E : d;
    const { cols } = layerLayout({
      core: arch.core,
      mechanism: arch.mechanism,
      inputSize,
      hiddenSize: d,
      ...(arch.downsize !== undefined ? { downsize: arch.downsize } : {}),
      ...(arch.tMax !== undefined ? { tMax: arch.tMax } : {}),
    });
    shapes.push({ name: layerTensorName(l, 'W'), shape: [inputSize + d, cols] });
    shapes.push({ name: layerTensorName(l, 'b'), shape: [cols] });
  }
  if (arch.layerNorm) {
    shapes.push({ name: LM_TENSORS.normGamma, shape: [d] });
    shapes.push({ name: LM_TENSORS.normBeta, shape: [d] });
  }
  if (!arch.tiedEmbeddings) shapes.push({ name: LM_TENSORS.outputW, shape: [d, V] });
  shapes.push({ name: LM_TENSORS.outputB, shape: [V] });
  return shapes;
}
