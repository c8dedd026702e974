import type { ResolvedLayerConfig } from './config.js';
import { stackLayerConfigs } from './init.js';
import { layerLayout } from './layout.js';
import type { Core, Mechanism } from './mechanisms.js';
import {
  ADAPTIVE_SOFTMAX_TENSORS,
  adaptiveTailTensorName,
  LM_TENSORS,
  layerTensorName,
} from './names.js';

/**
 * The adaptive softmax (Grave et al. 2017; PyTorch's nn.AdaptiveLogSoftmaxWithLoss) over a
 * vocabulary sorted by decreasing frequency: shortlist [0, cutoffs[0]), cluster i the ids
 * [cutoffs[i], cutoffs[i + 1]) (the last ends at the vocabulary size).
 */
export interface AdaptiveSoftmax {
  /** Strictly increasing, each in (0, vocabSize). */
  cutoffs: number[];
  /** Cluster i's projection has floor(hiddenSize / tailDiv^(i+1)) units (PyTorch's div_value). */
  tailDiv: number;
}

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
  /** Absent: a full softmax (output.W, output.b). */
  adaptiveSoftmax?: AdaptiveSoftmax;
}

/** The recurrent layers of a language model: layer 0 reads the embedding, layer l the layer below. */
export function lmLayerConfigs(arch: LmArchitecture): ResolvedLayerConfig[] {
  return stackLayerConfigs({
    core: arch.core,
    mechanism: arch.mechanism,
    inputSize: arch.embeddingSize,
    hiddenSize: arch.hiddenSize,
    numLayers: arch.numLayers,
    ...(arch.downsize !== undefined ? { downsize: arch.downsize } : {}),
    ...(arch.tMax !== undefined ? { tMax: arch.tMax } : {}),
  });
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
 * untied output W [d, V]; output b [V]. With an adaptive softmax, instead of output W and b:
 * shortlist [d, c0] (untied only), clusters [d, n], head b [c0 + n], then per cluster i
 * proj [d, h_i] and out [h_i, size_i].
 */
export function lmTensorShapes(arch: LmArchitecture): TensorShape[] {
  const { vocabSize: V, embeddingSize: E, hiddenSize: d } = arch;
  const shapes: TensorShape[] = [{ name: LM_TENSORS.embedding, shape: [V, E] }];
  lmLayerConfigs(arch).forEach((layer, l) => {
    const { cols } = layerLayout(layer);
    shapes.push({ name: layerTensorName(l, 'W'), shape: [layer.inputSize + d, cols] });
    shapes.push({ name: layerTensorName(l, 'b'), shape: [cols] });
  });
  if (arch.layerNorm) {
    shapes.push({ name: LM_TENSORS.normGamma, shape: [d] });
    shapes.push({ name: LM_TENSORS.normBeta, shape: [d] });
  }
  if (arch.adaptiveSoftmax) return [...shapes, ...adaptiveSoftmaxShapes(arch)];
  if (!arch.tiedEmbeddings) shapes.push({ name: LM_TENSORS.outputW, shape: [d, V] });
  shapes.push({ name: LM_TENSORS.outputB, shape: [V] });
  return shapes;
}

/** Units of each cluster's projection: floor(d / tailDiv^(i+1)), as PyTorch. */
export function adaptiveTailHidden(hiddenSize: number, a: AdaptiveSoftmax): number[] {
  return a.cutoffs.map((_, i) => Math.floor(hiddenSize / a.tailDiv ** (i + 1)));
}

/** Word ids [begin, end) of each tail cluster. */
export function adaptiveClusters(vocabSize: number, a: AdaptiveSoftmax): [number, number][] {
  return a.cutoffs.map((c, i) => [c, a.cutoffs[i + 1] ?? vocabSize]);
}

/**
 * Refuses settings the adaptive softmax cannot have, in one line naming the field: cutoffs not
 * strictly increasing integers in (0, vocabSize), a tailDiv below 1, a projection of no units.
 */
export function checkAdaptiveSoftmax(
  a: AdaptiveSoftmax,
  vocabSize: number,
  hiddenSize: number,
): void {
  const { cutoffs, tailDiv } = a;
  const ok =
    cutoffs.length > 0 &&
    cutoffs.every(
      (c, i) => Number.isInteger(c) && c > 0 && c < vocabSize && (i === 0 || c > cutoffs[i - 1]),
    );
  if (!ok)
    throw new Error(
      `adaptiveSoftmax.cutoffs: expected strictly increasing integers in (0, ${vocabSize}) (the vocabulary size), got ${cutoffs.join(',')}`,
    );
  if (!(typeof tailDiv === 'number' && tailDiv >= 1))
    throw new Error(`adaptiveSoftmax.tailDiv: expected a number >= 1, got ${tailDiv}`);
  const h = adaptiveTailHidden(hiddenSize, a);
  const empty = h.findIndex((x) => x < 1);
  if (empty >= 0)
    throw new Error(
      `adaptiveSoftmax.tailDiv: cluster ${empty}'s projection has floor(${hiddenSize} / ${tailDiv}^${empty + 1}) = 0 units: use a smaller tailDiv or fewer cutoffs`,
    );
}

function adaptiveSoftmaxShapes(arch: LmArchitecture): TensorShape[] {
  const a = arch.adaptiveSoftmax as AdaptiveSoftmax;
  const { vocabSize: V, hiddenSize: d } = arch;
  checkAdaptiveSoftmax(a, V, d);
  const c0 = a.cutoffs[0];
  const n = a.cutoffs.length;
  const h = adaptiveTailHidden(d, a);
  const shapes: TensorShape[] = [];
  if (!arch.tiedEmbeddings)
    shapes.push({ name: ADAPTIVE_SOFTMAX_TENSORS.shortlist, shape: [d, c0] });
  shapes.push({ name: ADAPTIVE_SOFTMAX_TENSORS.clusters, shape: [d, n] });
  shapes.push({ name: ADAPTIVE_SOFTMAX_TENSORS.headB, shape: [c0 + n] });
  adaptiveClusters(V, a).forEach(([begin, end], i) => {
    shapes.push({ name: adaptiveTailTensorName(i, 'proj'), shape: [d, h[i]] });
    shapes.push({ name: adaptiveTailTensorName(i, 'out'), shape: [h[i], end - begin] });
  });
  return shapes;
}
