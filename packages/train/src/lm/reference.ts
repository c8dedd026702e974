// The reference engine of the language model: the same object shape as the native NativeLm
// (arenas laid out by lmTensorShapes, trainStep filling the gradient arena, score, Adam over
// the arenas), computed by tfjs autodiff over the pure-tfjs cells. It is what the native model
// is tested against, and what trains where the addon is not built (slowly).
import * as tf from '@tensorflow/tfjs';
import { type LayerParams, runStack, type State } from '@urgate/cells';
import {
  ADAPTIVE_SOFTMAX_TENSORS,
  type AdaptiveSoftmax,
  adaptiveTailTensorName,
  LAYER_NORM_EPSILON,
  LM_TENSORS,
  type LmArchitecture,
  layerTensorName,
  lmTensorShapes,
} from '@urgate/contract';
import { arenaView, ParamArenas } from '@urgate/kernels/native';
import { dropoutMask } from '../masks.js';
import {
  type LanguageModel,
  type LmDropout,
  type LmLayerState,
  type LmState,
  type LmWindow,
  rowNll,
} from './model.js';

/**
 * Rows `ids` of the embedding. tfjs' gradient of gather on the cpu backend runs one op per
 * vocabulary entry (unsortedSegmentSum), minutes per step at V = 10^4; this scatter-adds the
 * rows' gradients in one pass instead.
 */
export function embeddingLookup(embedding: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [V, E] = embedding.shape;
  const lookup = tf.customGrad(((table: tf.Tensor) => ({
    value: tf.gather(table, tf.tensor1d(ids, 'int32')),
    gradFunc: (dy: tf.Tensor) => {
      const rows = dy.dataSync() as Float32Array;
      const grad = new Float32Array(V * E);
      for (let r = 0; r < ids.length; r++) {
        const to = ids[r] * E;
        const from = r * E;
        for (let k = 0; k < E; k++) grad[to + k] += rows[from + k];
      }
      return tf.tensor2d(grad, [V, E]);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return lookup(embedding) as tf.Tensor2D;
}

/** An LM's parameters as tensors under their checkpoint names. */
export type LmParamTensors = Record<string, tf.Tensor>;

function withDropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  return rate === 0 ? x : tf.mul(x, dropoutMask(rate, x.shape, seed));
}

/** Logits [T·B, V] (row t·B + b) of one window and the state after it. Call inside a tidy. */
export function lmForward(
  arch: LmArchitecture,
  params: LmParamTensors,
  window: Omit<LmWindow, 'targets'>,
  state: State[],
  dropout: LmDropout | null,
): { logits: tf.Tensor2D; state: State[] } {
  const { steps: T, batch: B } = window;
  const { embeddingSize: E, hiddenSize: d } = arch;
  const rate = dropout?.rate ?? 0;
  if (rate > 0 && dropout?.rows)
    throw new Error('dropout: a share of a global batch (rows) needs the native engine');
  const embedding = params[LM_TENSORS.embedding] as tf.Tensor2D;
  const x = withDropout(
    embeddingLookup(embedding, window.inputs),
    rate,
    dropout?.embeddingSeed ?? 0,
  );
  const reset = window.resets.includes(1)
    ? tf.tensor2d(Float32Array.from(window.resets), [T, B])
    : undefined;
  const layers: LayerParams[] = Array.from({ length: arch.numLayers }, (_, l) => ({
    W: params[layerTensorName(l, 'W')] as tf.Tensor2D,
    b: params[layerTensorName(l, 'b')] as tf.Tensor1D,
  }));
  const { outputs, states } = runStack(
    {
      core: arch.core,
      mechanism: arch.mechanism,
      inputSize: E,
      hiddenSize: d,
      numLayers: arch.numLayers,
      ...(arch.downsize !== undefined ? { downsize: arch.downsize } : {}),
      ...(arch.tMax !== undefined ? { tMax: arch.tMax } : {}),
    },
    layers,
    x.reshape([T, B, E]) as tf.Tensor3D,
    state,
    reset ? { reset } : {},
  );
  let h: tf.Tensor = withDropout(outputs.reshape([T * B, d]), rate, dropout?.outputSeed ?? 0);
  if (arch.layerNorm) {
    const { mean, variance } = tf.moments(h, -1, true);
    h = tf.add(
      tf.mul(
        tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPSILON))),
        params[LM_TENSORS.normGamma],
      ),
      params[LM_TENSORS.normBeta],
    );
  }
  if (arch.adaptiveSoftmax)
    // log-probabilities are logits too: softmax(log p) = p
    return { logits: adaptiveLogProbs(arch, params, h as tf.Tensor2D), state: states };
  const tied = arch.tiedEmbeddings;
  const logits = tf.fused.matMul({
    a: h as tf.Tensor2D,
    b: tied ? embedding : (params[LM_TENSORS.outputW] as tf.Tensor2D),
    transposeB: tied,
    bias: params[LM_TENSORS.outputB],
  }) as tf.Tensor2D;
  return { logits, state: states };
}

/**
 * log p(w | h) for every word, [N, V]: the head's log-softmax over the shortlist and one logit
 * per cluster, each cluster's words its tail's log-softmax plus the cluster's head
 * log-probability. Tied, the shortlist's word vectors are the embedding's rows [0, c0).
 */
export function adaptiveLogProbs(
  arch: LmArchitecture,
  params: LmParamTensors,
  h: tf.Tensor2D,
): tf.Tensor2D {
  const a = arch.adaptiveSoftmax as AdaptiveSoftmax;
  const c0 = a.cutoffs[0];
  const at = (name: string) => params[name] as tf.Tensor2D;
  const shortlist = arch.tiedEmbeddings
    ? tf.matMul(h, tf.slice(at(LM_TENSORS.embedding), [0, 0], [c0, -1]), false, true)
    : tf.matMul(h, at(ADAPTIVE_SOFTMAX_TENSORS.shortlist));
  const clusters = tf.matMul(h, at(ADAPTIVE_SOFTMAX_TENSORS.clusters));
  const head = tf.logSoftmax(
    tf.add(tf.concat([shortlist, clusters], 1), params[ADAPTIVE_SOFTMAX_TENSORS.headB]),
  ) as tf.Tensor2D;
  const parts: tf.Tensor[] = [tf.slice(head, [0, 0], [-1, c0])];
  a.cutoffs.forEach((_, i) => {
    const proj = at(adaptiveTailTensorName(i, 'proj'));
    const tail = tf.logSoftmax(tf.matMul(tf.matMul(h, proj), at(adaptiveTailTensorName(i, 'out'))));
    parts.push(tf.add(tail, tf.slice(head, [0, c0 + i], [-1, 1])));
  });
  return tf.concat(parts, 1) as tf.Tensor2D;
}

function stateTensors(
  arch: LmArchitecture,
  batch: number,
  state: readonly LmLayerState[],
): State[] {
  const shape: [number, number] = [batch, arch.hiddenSize];
  return state.map((s) => ({
    h: tf.tensor2d(s.h, shape),
    ...(s.c ? { c: tf.tensor2d(s.c, shape) } : {}),
  }));
}

function stateValues(state: State[]): LmState {
  return state.map((s) => ({
    h: Float32Array.from(s.h.dataSync()),
    ...(s.c ? { c: Float32Array.from(s.c.dataSync()) } : {}),
  }));
}

export class ReferenceLm extends ParamArenas implements LanguageModel {
  readonly arch: LmArchitecture;

  constructor(arch: LmArchitecture) {
    super(lmTensorShapes(arch));
    this.arch = arch;
  }

  zeroState(batch: number): LmState {
    const n = batch * this.arch.hiddenSize;
    return Array.from({ length: this.arch.numLayers }, () =>
      this.arch.core === 'lstm'
        ? { h: new Float32Array(n), c: new Float32Array(n) }
        : { h: new Float32Array(n) },
    );
  }

  /** The parameter arena as tensors (copies). */
  paramTensors(): LmParamTensors {
    return Object.fromEntries(
      this.tensors.map((t) => [t.name, tf.tensor(arenaView(this, t.name).slice(), t.shape)]),
    );
  }

  trainStep(
    window: LmWindow,
    state: readonly LmLayerState[],
    dropout: LmDropout | null,
  ): { loss: number; state: LmState } {
    let next: LmState = [];
    const loss = tf.tidy(() => {
      const params = this.paramTensors();
      const names = this.tensors.map((t) => t.name);
      const f = (...list: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, k) => [n, list[k]]));
        const out = lmForward(
          this.arch,
          p,
          window,
          stateTensors(this.arch, window.batch, state),
          dropout && dropout.rate > 0 ? dropout : null,
        );
        next = stateValues(out.state);
        const V = this.arch.vocabSize;
        const picked = tf.mul(
          tf.logSoftmax(out.logits),
          tf.oneHot(tf.tensor1d(window.targets, 'int32'), V),
        );
        return tf.neg(tf.div(tf.sum(picked), window.targets.length)) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]));
      grads.forEach((g, k) => {
        arenaView(this, names[k], 'grads').set(g.dataSync() as Float32Array);
      });
      return value.dataSync()[0];
    });
    return { loss, state: next };
  }

  score(window: LmWindow, state: readonly LmLayerState[]): { nll: Float64Array; state: LmState } {
    let logits: Float32Array = new Float32Array(0);
    let next: LmState = [];
    tf.tidy(() => {
      const out = lmForward(
        this.arch,
        this.paramTensors(),
        window,
        stateTensors(this.arch, window.batch, state),
        null,
      );
      logits = out.logits.dataSync() as Float32Array;
      next = stateValues(out.state);
    });
    return { nll: rowNll(logits, this.arch.vocabSize, window.targets), state: next };
  }
}
