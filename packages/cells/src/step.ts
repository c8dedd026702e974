import * as tf from '@tensorflow/tfjs';
import {
  type LayerConfig,
  type Layout,
  layerLayout,
  type ResolvedLayerConfig,
  resolveLayerConfig,
} from '@urgate/contract';
import { gate, splitBlocks } from './gate.js';
import type { LayerParams, State, StepExtras } from './types.js';
import { checkStep } from './validate.js';

/** W split into its input and recurrent rows, and the total bias b + bOffset. */
export interface PreparedParams {
  layout: Layout;
  Wx: tf.Tensor2D;
  Wh: tf.Tensor2D;
  bias: tf.Tensor1D;
}

export function prepareParams(cfg: ResolvedLayerConfig, params: LayerParams): PreparedParams {
  const layout = layerLayout(cfg);
  const n = cfg.inputSize;
  return {
    layout,
    Wx: params.W.slice([0, 0], [n, layout.cols]),
    Wh: params.W.slice([n, 0], [cfg.hiddenSize, layout.cols]),
    bias: params.bOffset === undefined ? params.b : params.b.add(params.bOffset),
  };
}

function keepRows(t: tf.Tensor2D, reset: tf.Tensor1D): tf.Tensor2D {
  return t.mul(tf.onesLike(reset).sub(reset).reshape([-1, 1]));
}

function zoneout(
  previous: tf.Tensor2D,
  candidate: tf.Tensor2D,
  keep: tf.Tensor2D | undefined,
): tf.Tensor2D {
  return keep === undefined
    ? candidate
    : keep.mul(previous).add(tf.onesLike(keep).sub(keep).mul(candidate));
}

/** One step on validated inputs; the caller owns tidying. */
export function stepPrepared(
  cfg: ResolvedLayerConfig,
  p: PreparedParams,
  x: tf.Tensor2D,
  state: State,
  extras?: StepExtras,
): State {
  let h = state.h;
  let c = state.c;
  if (extras?.reset !== undefined) {
    h = keepRows(h, extras.reset);
    if (c !== undefined) c = keepRows(c, extras.reset);
  }
  const batch = x.shape[0];
  const xProj = x.matMul(p.Wx).add(p.bias) as tf.Tensor2D;
  const a = xProj.add(h.matMul(p.Wh)) as tf.Tensor2D;
  const pre = splitBlocks(a, p.layout);

  if (cfg.core === 'gru') {
    // The GRU's update block reads the reset-gated state: a_u = [x, s∘h]·W_u + b_u.
    const u = p.layout.blocks.find((blk) => blk.name === 'u');
    if (u === undefined) throw new Error('internal: GRU layout without a u block');
    const s = tf.sigmoid(pre.s as tf.Tensor2D);
    const WhU = p.Wh.slice([0, u.offset], [cfg.hiddenSize, u.width]);
    pre.u = xProj.slice([0, u.offset], [batch, u.width]).add(s.mul(h).matMul(WhU)) as tf.Tensor2D;
  }

  const { forget, input } = gate(cfg.mechanism, cfg.core, pre, cfg.downsize);
  const update = tf.tanh(pre.u as tf.Tensor2D);
  if (cfg.core === 'gru') {
    const hCandidate = forget.mul(h).add(input.mul(update)) as tf.Tensor2D;
    return { h: zoneout(h, hCandidate, extras?.zoneoutH) };
  }
  const cPrev = c as tf.Tensor2D;
  const cCandidate = forget.mul(cPrev).add(input.mul(update)) as tf.Tensor2D;
  const hCandidate = tf.sigmoid(pre.o as tf.Tensor2D).mul(tf.tanh(cCandidate)) as tf.Tensor2D;
  return {
    h: zoneout(h, hCandidate, extras?.zoneoutH),
    c: zoneout(cPrev, cCandidate, extras?.zoneoutC),
  };
}

/** One step of a layer (LAYOUT.md "Core updates" and "Per-step extras"). */
export function layerStep(
  cfg: LayerConfig,
  params: LayerParams,
  x: tf.Tensor2D,
  state: State,
  extras?: StepExtras,
): State {
  const r = resolveLayerConfig(cfg);
  checkStep(r, params, x, state, extras);
  const [h, c] = tf.tidy(() => {
    const next = stepPrepared(r, prepareParams(r, params), x, state, extras);
    return next.c === undefined ? [next.h] : [next.h, next.c];
  }) as [tf.Tensor2D, tf.Tensor2D | undefined];
  return c === undefined ? { h } : { h, c };
}
