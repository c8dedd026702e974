import * as tf from '@tensorflow/tfjs';
import type { ResolvedRmcConfig } from '@urgate/contract';
import { layerNorm, linear } from './ops.js';
import type { RmcParams } from './types.js';

/**
 * Multi-head dot-product attention of every row of `memory` [B, S, memSize] over all rows.
 * The qkv features of a row are laid out head by head, each head [q (keySize), k (keySize),
 * v (headSize)], as Sonnet reshapes them.
 */
function multiheadAttention(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  block: number,
  memory: tf.Tensor3D,
): tf.Tensor3D {
  const [batch, rows] = memory.shape;
  const { numHeads, keySize, headSize } = cfg;
  const p = (name: string) => params[`blocks.${block}.${name}`];
  const qkv = layerNorm(
    linear(memory, p('qkv.W'), p('qkv.b')),
    p('qkvNorm.gamma'),
    p('qkvNorm.beta'),
  );
  const perHead = qkv
    .reshape([batch, rows, numHeads, 2 * keySize + headSize])
    .transpose([0, 2, 1, 3]) as tf.Tensor4D;
  const [q, k, v] = tf.split(perHead, [keySize, keySize, headSize], -1);
  const weights = tf.softmax(tf.matMul(q.mul(keySize ** -0.5), k, false, true));
  return tf
    .matMul(weights, v)
    .transpose([0, 2, 1, 3])
    .reshape([batch, rows, numHeads * headSize]);
}

/**
 * The attention blocks of one step: attention and the shared MLP, each with a residual
 * connection and its own layer norm.
 */
export function attendOverMemory(
  cfg: ResolvedRmcConfig,
  params: RmcParams,
  memory: tf.Tensor3D,
): tf.Tensor3D {
  const mlp = (x: tf.Tensor): tf.Tensor => {
    let h = x;
    for (let l = 0; l < cfg.attentionMlpLayers; l++) {
      if (l > 0) h = tf.relu(h);
      h = linear(h, params[`mlp.${l}.W`], params[`mlp.${l}.b`]);
    }
    return h;
  };
  let m: tf.Tensor = memory;
  for (let k = 0; k < cfg.numBlocks; k++) {
    const p = (name: string) => params[`blocks.${k}.${name}`];
    const attended = multiheadAttention(cfg, params, k, m as tf.Tensor3D);
    m = layerNorm(m.add(attended), p('attentionNorm.gamma'), p('attentionNorm.beta'));
    m = layerNorm(m.add(mlp(m)), p('mlpNorm.gamma'), p('mlpNorm.beta'));
  }
  return m as tf.Tensor3D;
}
