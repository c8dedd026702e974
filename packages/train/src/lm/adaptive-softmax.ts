// The LM's adaptive softmax on the training side: its parameters (laid out by @urgate/spec's
// lmTensorShapes), the tfjs reference of its log-distribution (what the native kernel is tested
// against through the whole model), and the check that the vocabulary is frequency-sorted.
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '@urgate/cells';
import type { LmParamTensors } from '@urgate/kernels';
import {
  ADAPTIVE_SOFTMAX_TENSORS,
  type AdaptiveSoftmax,
  adaptiveTailTensorName,
  type LmArchitecture,
  lmTensorShapes,
} from '@urgate/spec';
import { deriveSeed } from '../seeds.js';

const ADAPTIVE_PREFIX = 'adaptive.';
/** Seed purposes of the adaptive tensors (model.ts' PURPOSE uses 1..3). */
const SEED_PURPOSE = 100;

/**
 * The adaptive softmax's variables, in lmTensorShapes order: weights U(±1/√fan_in) like
 * PyTorch's Linear layers, the head bias zero.
 */
export function createAdaptiveParams(
  arch: LmArchitecture,
  seed: number,
): Record<string, tf.Variable> {
  const params: Record<string, tf.Variable> = {};
  lmTensorShapes(arch)
    .filter((t) => t.name.startsWith(ADAPTIVE_PREFIX))
    .forEach(({ name, shape }, k) => {
      if (name === ADAPTIVE_SOFTMAX_TENSORS.headB) {
        params[name] = tf.variable(tf.zeros(shape));
        return;
      }
      const rng = new SeededRandom(deriveSeed(seed, SEED_PURPOSE + k));
      const limit = 1 / Math.sqrt(shape[0]);
      const data = Float32Array.from({ length: shape[0] * shape[1] }, () =>
        rng.uniform(-limit, limit),
      );
      params[name] = tf.variable(tf.tensor2d(data, shape as [number, number]));
    });
  return params;
}

type Params = Record<string, tf.Tensor>;

/** The kernels' view of the adaptive tensors (no shortlist when tied: the embedding's rows are). */
export function adaptiveParamTensors(
  arch: LmArchitecture,
  params: Params,
): NonNullable<LmParamTensors['adaptive']> {
  const n = (arch.adaptiveSoftmax as AdaptiveSoftmax).cutoffs.length;
  const at = (name: string) => params[name] as tf.Tensor2D;
  return {
    ...(arch.tiedEmbeddings ? {} : { shortlist: at(ADAPTIVE_SOFTMAX_TENSORS.shortlist) }),
    clusters: at(ADAPTIVE_SOFTMAX_TENSORS.clusters),
    headB: params[ADAPTIVE_SOFTMAX_TENSORS.headB] as tf.Tensor1D,
    proj: Array.from({ length: n }, (_, i) => at(adaptiveTailTensorName(i, 'proj'))),
    out: Array.from({ length: n }, (_, i) => at(adaptiveTailTensorName(i, 'out'))),
  };
}

/**
 * log p(w | h) for every word, [N, V], the tfjs reference (differentiable): the head's
 * log-softmax over the shortlist and one logit per cluster, each cluster's words its tail's
 * log-softmax plus the cluster's head log-probability. Tied, the shortlist's word vectors are
 * the embedding's rows [0, c0). Call inside a tidy.
 */
export function adaptiveLogProbs(
  arch: LmArchitecture,
  params: Params,
  h: tf.Tensor2D,
): tf.Tensor2D {
  const a = arch.adaptiveSoftmax as AdaptiveSoftmax;
  const c0 = a.cutoffs[0];
  const p = adaptiveParamTensors(arch, params);
  const shortlist = arch.tiedEmbeddings
    ? tf.matMul(h, tf.slice(params.embedding as tf.Tensor2D, [0, 0], [c0, -1]), false, true)
    : tf.matMul(h, p.shortlist as tf.Tensor2D);
  const head = tf.logSoftmax(
    tf.add(tf.concat([shortlist, tf.matMul(h, p.clusters)], 1), p.headB),
  ) as tf.Tensor2D;
  const parts: tf.Tensor[] = [tf.slice(head, [0, 0], [-1, c0])];
  a.cutoffs.forEach((_, i) => {
    const tail = tf.logSoftmax(tf.matMul(tf.matMul(h, p.proj[i]), p.out[i]));
    parts.push(tf.add(tail, tf.slice(head, [0, c0 + i], [-1, 1])));
  });
  return tf.concat(parts, 1) as tf.Tensor2D;
}

/**
 * Refuses a vocabulary that is not sorted by decreasing frequency on the training split (the
 * adaptive softmax's clusters are frequency bands), apart from the tokenizer's `<unk>` and
 * `<eos>`, which a word vocabulary places first: one line naming the first pair out of order.
 */
export function checkFrequencySorted(
  ids: Int32Array,
  vocabSize: number,
  special: number[],
  source: string,
): void {
  const counts = new Float64Array(vocabSize);
  for (const id of ids) counts[id]++;
  let prev = -1;
  for (let id = 0; id < vocabSize; id++) {
    if (special.includes(id)) continue;
    if (prev >= 0 && counts[id] > counts[prev])
      throw new Error(
        `${source}: the adaptive softmax needs a vocabulary sorted by decreasing frequency, but on the train split id ${id} occurs ${counts[id]} times and id ${prev} before it ${counts[prev]} times: prepare a word vocabulary with \`urgate lm prepare\` (which sorts it) or train with a full softmax`,
      );
    prev = id;
  }
}
