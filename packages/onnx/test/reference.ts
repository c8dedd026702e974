// The independent truth for the exported graphs: @urgate/cells' tfjs reference for the layers, and
// embedding, layer norm, output layer and log-softmax written here with tfjs.

import * as tf from '@tensorflow/tfjs';
import {
  gate,
  type LayerParams,
  layerStep,
  runLayerReference,
  type State,
  splitBlocks,
} from '@urgate/cells';
import { type LayerConfig, layerLayout, resolveLayerConfig } from '@urgate/contract';
import type { Checkpoint } from './fixtures.js';

const t2 = (x: { shape: number[]; data: Float32Array }) =>
  tf.tensor2d(x.data, x.shape as [number, number]);
const t1 = (x: { shape: number[]; data: Float32Array }) => tf.tensor1d(x.data);

function layers(ckpt: Checkpoint): { cfg: LayerConfig; params: LayerParams }[] {
  const m = ckpt.meta.model as Record<string, never>;
  const first = m.kind === 'lm' ? m.embeddingSize : m.inputSize;
  return Array.from({ length: m.numLayers as number }, (_, l) => {
    const bOffset = ckpt.tensors[`layers.${l}.bOffset`];
    return {
      cfg: {
        core: m.core,
        mechanism: m.mechanism,
        inputSize: l === 0 ? first : m.hiddenSize,
        hiddenSize: m.hiddenSize,
        downsize: m.downsize,
        fixedGateOffset: m.fixedGateOffset ?? false,
      },
      params: {
        W: t2(ckpt.tensors[`layers.${l}.W`]),
        b: t1(ckpt.tensors[`layers.${l}.b`]),
        ...(bOffset ? { bOffset: t1(bOffset) } : {}),
      },
    };
  });
}

function zoneoutRates(ckpt: Checkpoint): { c: number; h: number } {
  const z = ckpt.meta.model.zoneout as { c: number; h: number } | null;
  return z ?? { c: 0, h: 0 };
}

/** LN?(h)·W + b on [N, d] rows. */
function referenceLogits(ckpt: Checkpoint, h: tf.Tensor2D): tf.Tensor2D {
  const { tensors } = ckpt;
  let x = h;
  if (tensors['norm.gamma']) {
    const { mean, variance } = tf.moments(x, -1, true);
    x = x
      .sub(mean)
      .div(variance.add(1e-5).sqrt())
      .mul(t1(tensors['norm.gamma']))
      .add(t1(tensors['norm.beta']));
  }
  const W = tensors['output.W'] ? t2(tensors['output.W']) : t2(tensors.embedding).transpose();
  return x.matMul(W).add(t1(tensors['output.b']));
}

/** Per-layer states as [B, d] tensors, from a stacked [L, B, d] array. */
export function unstackState(data: Float32Array, L: number, B: number, d: number): tf.Tensor2D[] {
  return Array.from({ length: L }, (_, l) =>
    tf.tensor2d(data.subarray(l * B * d, (l + 1) * B * d), [B, d]),
  );
}

export interface RefState {
  h: tf.Tensor2D[];
  c: tf.Tensor2D[] | null;
}

export function stackState(s: tf.Tensor2D[]): Float32Array {
  return tf.stack(s).dataSync() as Float32Array;
}

/** One step of the language model: tokens [B] -> logits [B, V]. */
export function referenceStep(
  ckpt: Checkpoint,
  tokens: number[],
  state: RefState,
): { logits: tf.Tensor2D; state: RefState } {
  const z = zoneoutRates(ckpt);
  let x = tf.gather(t2(ckpt.tensors.embedding), tf.tensor1d(tokens, 'int32')) as tf.Tensor2D;
  const next: RefState = { h: [], c: state.c ? [] : null };
  layers(ckpt).forEach(({ cfg, params }, l) => {
    const B = tokens.length;
    const d = cfg.hiddenSize;
    const prev: State = state.c ? { h: state.h[l], c: state.c[l] } : { h: state.h[l] };
    const s = layerStep(cfg, params, x, prev, {
      ...(z.h > 0 ? { zoneoutH: tf.fill([B, d], z.h) as tf.Tensor2D } : {}),
      ...(z.c > 0 && state.c ? { zoneoutC: tf.fill([B, d], z.c) as tf.Tensor2D } : {}),
    });
    next.h.push(s.h);
    if (next.c && s.c) next.c.push(s.c);
    x = s.h;
  });
  return { logits: referenceLogits(ckpt, x), state: next };
}

/** Negative log-likelihood [T, B] of targets over a chunk, with resets. */
export function referenceSequence(
  ckpt: Checkpoint,
  tokens: number[][],
  targets: number[][],
  reset: number[][],
  state: RefState,
): { nll: tf.Tensor2D; state: RefState } {
  const z = zoneoutRates(ckpt);
  const T = tokens.length;
  const B = tokens[0].length;
  let xs = tf.gather(
    t2(ckpt.tensors.embedding),
    tf.tensor2d(tokens, [T, B], 'int32'),
  ) as tf.Tensor as tf.Tensor3D;
  const next: RefState = { h: [], c: state.c ? [] : null };
  layers(ckpt).forEach(({ cfg, params }, l) => {
    const d = cfg.hiddenSize;
    const prev: State = state.c ? { h: state.h[l], c: state.c[l] } : { h: state.h[l] };
    const r = runLayerReference(cfg, params, xs, prev, {
      reset: tf.tensor2d(reset, [T, B]),
      ...(z.h > 0 ? { zoneoutH: tf.fill([T, B, d], z.h) as tf.Tensor3D } : {}),
      ...(z.c > 0 && state.c ? { zoneoutC: tf.fill([T, B, d], z.c) as tf.Tensor3D } : {}),
    });
    next.h.push(r.state.h);
    if (next.c && r.state.c) next.c.push(r.state.c);
    xs = r.outputs;
  });
  const d = xs.shape[2];
  const logits = referenceLogits(ckpt, xs.reshape([T * B, d]));
  const logProbs = tf.logSoftmax(logits);
  const V = logits.shape[1];
  const picked = logProbs.mul(tf.oneHot(tf.tensor1d(targets.flat(), 'int32'), V)).sum(1);
  return { nll: picked.neg().reshape([T, B]) as tf.Tensor2D, state: next };
}

/** Classifier: inputs [T, B, n] from a zero state -> logits [B, K]. */
export function referenceClassifier(ckpt: Checkpoint, inputs: tf.Tensor3D): tf.Tensor2D {
  const z = zoneoutRates(ckpt);
  const [T, B] = inputs.shape;
  let xs = inputs;
  let last: tf.Tensor2D = tf.zeros([B, 1]);
  for (const { cfg, params } of layers(ckpt)) {
    const d = cfg.hiddenSize;
    const zero = tf.zeros([B, d]) as tf.Tensor2D;
    const r = runLayerReference(
      cfg,
      params,
      xs,
      cfg.core === 'lstm' ? { h: zero, c: zero } : { h: zero },
      {
        ...(z.h > 0 ? { zoneoutH: tf.fill([T, B, d], z.h) as tf.Tensor3D } : {}),
        ...(z.c > 0 && cfg.core === 'lstm'
          ? { zoneoutC: tf.fill([T, B, d], z.c) as tf.Tensor3D }
          : {}),
      },
    );
    xs = r.outputs;
    last = r.state.h;
  }
  const { tensors } = ckpt;
  const hidden = tf.relu(last.matMul(t2(tensors['head.W1'])).add(t1(tensors['head.b1'])));
  return hidden.matMul(t2(tensors['head.W2'])).add(t1(tensors['head.b2'])) as tf.Tensor2D;
}

/**
 * Effective forget gates [L][T] of `[B, d]` over a chunk: each step's pre-activations
 * `[x; h_prev]·W + b (+ bOffset)` split into blocks and passed to the cells' `gate`, with the
 * state carried by the cells' `layerStep` (zoneout at its expectation).
 */
export function referenceForget(
  ckpt: Checkpoint,
  tokens: number[][],
  state: RefState,
): tf.Tensor2D[][] {
  const z = zoneoutRates(ckpt);
  let xs = tokens.map(
    (row) => tf.gather(t2(ckpt.tensors.embedding), tf.tensor1d(row, 'int32')) as tf.Tensor2D,
  );
  return layers(ckpt).map(({ cfg, params }, l) => {
    const resolved = resolveLayerConfig(cfg);
    const layout = layerLayout(resolved);
    const d = cfg.hiddenSize;
    const bias = params.bOffset ? params.b.add(params.bOffset) : params.b;
    let prev: State = state.c ? { h: state.h[l], c: state.c[l] } : { h: state.h[l] };
    const forget: tf.Tensor2D[] = [];
    const outputs: tf.Tensor2D[] = [];
    for (const x of xs) {
      const B = x.shape[0];
      const a = tf.concat([x, prev.h], 1).matMul(params.W).add(bias) as tf.Tensor2D;
      forget.push(
        gate(resolved.mechanism, resolved.core, splitBlocks(a, layout), resolved.downsize).forget,
      );
      prev = layerStep(cfg, params, x, prev, {
        ...(z.h > 0 ? { zoneoutH: tf.fill([B, d], z.h) as tf.Tensor2D } : {}),
        ...(z.c > 0 && prev.c ? { zoneoutC: tf.fill([B, d], z.c) as tf.Tensor2D } : {}),
      });
      outputs.push(prev.h);
    }
    xs = outputs;
    return forget;
  });
}
