// A whole language model (embedding -> stacked gated layers -> layer norm ->
// tied or untied softmax layer -> cross-entropy) as one tfjs op: the forward
// pass, the loss and every parameter's gradient come from one native call
// (csrc/lm.cc); tfjs autodiff only hands those gradients to the variables.
import * as tf from '@tensorflow/tfjs';
import type { State } from '@urgate/cells';
import {
  type NativeLmBatch,
  type NativeLmParams,
  type NativeLmSpec,
  requireNative,
} from './native.js';
import { floats } from './tensors.js';

/** An LM's parameters as tensors (LAYOUT.md: embedding, layers.<l>.W/b, norm.*, output.*). */
export interface LmParamTensors {
  embedding: tf.Tensor2D;
  layers: { W: tf.Tensor2D; b: tf.Tensor1D }[];
  gamma?: tf.Tensor1D;
  beta?: tf.Tensor1D;
  outputW?: tf.Tensor2D;
  /** Full softmax only. */
  outputB?: tf.Tensor1D;
  /** Adaptive softmax only (LAYOUT.md "Adaptive softmax"; no shortlist when tied). */
  adaptive?: {
    shortlist?: tf.Tensor2D;
    clusters: tf.Tensor2D;
    headB: tf.Tensor1D;
    proj: tf.Tensor2D[];
    out: tf.Tensor2D[];
  };
}

/** One window, time-major [T, B] (element t·B + b). */
export interface LmStepWindow {
  inputs: Int32Array;
  targets: Int32Array;
  /** 1 = zero that row's state before step t. */
  resets: Uint8Array;
}

/** Inverted dropout on the embeddings and the last layer's output, masks from these seeds. */
export interface LmStepDropout {
  rate: number;
  embeddingSeed: number;
  outputSeed: number;
}

/** The adaptive softmax's tensors in lmTensorShapes order: shortlist?, clusters, head b, then proj and out per cluster. */
function adaptiveList<T extends object>(a: {
  shortlist?: T;
  clusters: T;
  headB: T;
  proj: T[];
  out: T[];
}): T[] {
  const list: T[] = a.shortlist ? [a.shortlist] : [];
  list.push(a.clusters, a.headB);
  for (let i = 0; i < a.proj.length; i++) list.push(a.proj[i], a.out[i]);
  return list;
}

/** The tensors in @urgate/spec's lmTensorShapes order, which the gradients come back in too. */
function flatten(p: LmParamTensors): tf.Tensor[] {
  const list: tf.Tensor[] = [p.embedding];
  for (const layer of p.layers) list.push(layer.W, layer.b);
  if (p.gamma && p.beta) list.push(p.gamma, p.beta);
  if (p.adaptive) return [...list, ...adaptiveList<tf.Tensor>(p.adaptive)];
  if (p.outputW) list.push(p.outputW);
  if (p.outputB) list.push(p.outputB);
  return list;
}

function flattenGrads(spec: NativeLmSpec, g: NativeLmParams): Float32Array[] {
  const list = [g.embedding];
  for (let l = 0; l < spec.numLayers; l++) list.push(g.W[l], g.b[l]);
  if (g.gamma && g.beta) list.push(g.gamma, g.beta);
  if (g.adaptive) return [...list, ...adaptiveList(g.adaptive)];
  if (g.outputW) list.push(g.outputW);
  if (g.outputB) list.push(g.outputB);
  return list;
}

function nativeParams(spec: NativeLmSpec, list: tf.Tensor[]): NativeLmParams {
  const v = list.map(floats);
  let k = 1;
  const W: Float32Array[] = [];
  const b: Float32Array[] = [];
  for (let l = 0; l < spec.numLayers; l++) {
    W.push(v[k++]);
    b.push(v[k++]);
  }
  const norm = spec.layerNorm ? { gamma: v[k++], beta: v[k++] } : {};
  const a = spec.adaptiveSoftmax;
  if (a) {
    const shortlist = spec.tiedEmbeddings ? {} : { shortlist: v[k++] };
    const clusters = v[k++];
    const headB = v[k++];
    const proj: Float32Array[] = [];
    const out: Float32Array[] = [];
    for (let i = 0; i < a.cutoffs.length; i++) {
      proj.push(v[k++]);
      out.push(v[k++]);
    }
    return {
      embedding: v[0],
      W,
      b,
      ...norm,
      adaptive: { ...shortlist, clusters, headB, proj, out },
    };
  }
  const outputW = spec.tiedEmbeddings ? {} : { outputW: v[k++] };
  return { embedding: v[0], W, b, ...norm, ...outputW, outputB: v[k] };
}

function nativeBatch(spec: NativeLmSpec, window: LmStepWindow, state: State[]): NativeLmBatch {
  const lstm = spec.core === 'lstm';
  if (state.length !== spec.numLayers)
    throw new RangeError(
      `state: expected one state per layer (${spec.numLayers}), got ${state.length}`,
    );
  return {
    inputs: window.inputs,
    targets: window.targets,
    reset: window.resets.includes(1) ? Float32Array.from(window.resets) : null,
    h0: state.map((s) => floats(s.h)),
    c0: lstm ? state.map((s, l) => floats(s.c ?? missingC(l))) : null,
  };
}

function missingC(l: number): never {
  throw new TypeError(`state[${l}].c: expected the LSTM cell state`);
}

function states(spec: NativeLmSpec, h: Float32Array[], c: Float32Array[] | undefined): State[] {
  const shape: [number, number] = [spec.batch, spec.hiddenSize];
  return h.map((hl, l) => ({
    h: tf.tensor2d(hl, shape),
    ...(c ? { c: tf.tensor2d(c[l], shape) } : {}),
  }));
}

/**
 * Mean cross-entropy of `window.targets` given `window.inputs` and the carried state, and the
 * state after the window. The loss is differentiable with respect to every tensor of `params`
 * (one native backward pass, run with the forward); the state is not (truncated BPTT).
 */
export function lmLossFused(
  spec: NativeLmSpec,
  params: LmParamTensors,
  window: LmStepWindow,
  state: State[],
  dropout: LmStepDropout | null,
): { loss: tf.Scalar; state: State[] } {
  const addon = requireNative('lmLossFused');
  const inputs = flatten(params);
  let result: ReturnType<typeof addon.lmTrainStep> | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const list = args.slice(0, inputs.length) as tf.Tensor[];
    const r = addon.lmTrainStep(
      spec,
      nativeParams(spec, list),
      nativeBatch(spec, window, state),
      dropout && dropout.rate > 0 ? dropout : null,
    );
    result = r;
    const grads = flattenGrads(spec, r.grads);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: tf.Tensor) => {
        // dy is a scalar (1 under variableGrads): scale in plain loops, not tfjs broadcasts
        const scale = dy.dataSync()[0];
        return grads.map((values, i) =>
          tf.tensor(scale === 1 ? values : values.map((x) => x * scale), list[i].shape, 'float32'),
        );
      },
    };
  });
  const loss = op(...inputs) as tf.Scalar;
  const r = result as NonNullable<typeof result>;
  return { loss, state: states(spec, r.h, r.c) };
}

/** Natural-log NLL of every target of the window (no dropout) and the state after it. */
export function lmScoreFused(
  spec: NativeLmSpec,
  params: LmParamTensors,
  window: LmStepWindow,
  state: State[],
): { nll: Float64Array; state: State[] } {
  const addon = requireNative('lmScoreFused');
  const r = addon.lmScore(
    spec,
    nativeParams(spec, flatten(params)),
    nativeBatch(spec, window, state),
  );
  return { nll: r.nll, state: states(spec, r.h, r.c) };
}
