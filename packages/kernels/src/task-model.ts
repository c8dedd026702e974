// The task models (stacked gated layers + a copy, regression or classifier head) as one native
// object: parameters, gradients and Adam's moments in four arenas laid out from the tensor table
// (@urgate/contract's taskTensorShapes: checkpoint names, optimizer order), a train step that fills the gradient
// arena through the native layer, dense and cross-entropy kernels, and evaluation. No tfjs.
import {
  CLASSIFIER_TENSORS,
  layerLayout,
  layerTensorName,
  TASK_HEAD_TENSORS,
  type TaskArchitecture,
  taskTensorShapes,
} from '@urgate/contract';
import { effectiveForget } from './forget-gate.js';
import { requireNative } from './native.js';
import { type LayerPass, NativeStackModel, type StackMasks } from './stack-model.js';

/** One minibatch, time-major like @urgate/cells (@urgate/train's task batches). */
export interface TaskModelBatch {
  steps: number;
  batchSize: number;
  inputSize: number;
  /** [steps, batch, inputSize]. */
  inputs: Float32Array;
  /** copy: classes [10, batch]; adding: targets [batch]; pixel: labels [batch]. */
  targets: Int32Array | Float32Array;
  /** copy: first step with a target. */
  targetStart?: number;
}

/** Multipliers of one forward pass: per layer [T, B, d] zoneout keep-masks (null: none), the head's dropout [B, hidden]. */
export interface TaskMasks extends StackMasks {
  dropout: Float32Array | null;
}

interface HeadPass {
  loss: number;
  /** Predictions right, of `count` (copy, classifier). */
  correct: number;
  count: number;
  /** dLoss/d(last layer's outputs) [T, B, d]. */
  backward: () => Float32Array;
}

export class NativeTaskModel extends NativeStackModel {
  readonly arch: TaskArchitecture;

  /** All four arenas zeroed: set the parameters (initialisation or a checkpoint) before training. */
  constructor(arch: TaskArchitecture) {
    super(taskTensorShapes(arch), 'NativeTaskModel');
    this.arch = arch;
  }

  /** The loss of the batch; every gradient of the arena overwritten. */
  trainStep(batch: TaskModelBatch, masks: TaskMasks): number {
    const { layers, head } = this.forward(batch, masks);
    this.stackBackward(layers, head.backward());
    return head.loss;
  }

  /** Loss and correct predictions of a batch (no gradients). */
  evaluate(
    batch: TaskModelBatch,
    masks: TaskMasks,
  ): { loss: number; correct: number; count: number } {
    const { layers, head } = this.forward(batch, masks);
    this.releasePasses(layers);
    return { loss: head.loss, correct: head.correct, count: head.count };
  }

  /**
   * Mean effective forget gate per unit of layer 0 over every step and sequence of a batch
   * (paper Figure 4), with the layer's zoneout mask(s) in `masks` (their expectation).
   */
  meanForgetPerUnit(batch: TaskModelBatch, masks: TaskMasks): Float32Array {
    const cfg = this.arch.layers[0];
    const { layers } = this.forward(batch, masks, 1);
    this.releasePasses(layers);
    const [T, B, n, d] = [batch.steps, batch.batchSize, cfg.inputSize, cfg.hiddenSize];
    const { cols } = layerLayout(cfg);
    // rows [x_t, h_{t-1}] (h_{-1} = 0), the layer's pre-activations, then F
    const rows = new Float32Array(T * B * (n + d));
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++) {
        const r = (t * B + b) * (n + d);
        rows.set(batch.inputs.subarray((t * B + b) * n, (t * B + b + 1) * n), r);
        if (t > 0) {
          const from = ((t - 1) * B + b) * d;
          rows.set(layers[0].outputs.subarray(from, from + d), r + n);
        }
      }
    const W = this.view(layerTensorName(0, 'W'));
    const b0 = this.view(layerTensorName(0, 'b'));
    const pre = this.addon.denseForward(rows, W, b0, T * B, n + d, cols, false);
    const F = effectiveForget(cfg, pre, T * B);
    const mean = new Float32Array(d);
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let r = 0; r < T * B; r++) sum += F[r * d + j];
      mean[j] = sum / (T * B);
    }
    return mean;
  }

  private forward(
    batch: TaskModelBatch,
    masks: TaskMasks,
    depth = this.arch.layers.length,
  ): { layers: LayerPass[]; head: HeadPass } {
    const layers = this.stackForward(
      this.arch.layers,
      batch.inputs,
      batch.batchSize,
      batch.steps,
      masks,
      depth,
    );
    if (depth < this.arch.layers.length) return { layers, head: NO_HEAD };
    const outputs = layers[layers.length - 1].outputs;
    return { layers, head: this.head(batch, outputs, masks.dropout) };
  }

  /** Softmax cross-entropy of `logits` [rows, K] against class ids; `backward` takes dLogits. */
  private classification(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    backward: (dLogits: Float32Array) => Float32Array,
  ): HeadPass {
    const K = this.arch.outputSize;
    const { loss, dLogits } = this.addon.softmaxCrossEntropy(logits, targets, K);
    return {
      loss: Math.fround(loss),
      correct: countCorrect(logits, targets, K),
      count: rows,
      backward: () => backward(dLogits),
    };
  }

  private head(batch: TaskModelBatch, h: Float32Array, dropout: Float32Array | null): HeadPass {
    const T = batch.steps;
    const B = batch.batchSize;
    const d = this.arch.layers[this.arch.layers.length - 1].hiddenSize;
    const K = this.arch.outputSize;
    const dOutputs = (from: number, dx: Float32Array) => {
      const out = new Float32Array(T * B * d);
      out.set(dx, from * B * d);
      return out;
    };
    const last = h.subarray((T - 1) * B * d);
    if (this.arch.head === 'copy') {
      const start = batch.targetStart as number;
      const rows = (T - start) * B;
      const out = this.dense(TASK_HEAD_TENSORS, h.subarray(start * B * d), rows, d, K, false);
      return this.classification(out.y, batch.targets as Int32Array, rows, (dLogits) =>
        dOutputs(start, out.backward(dLogits)),
      );
    }
    if (this.arch.head === 'regression') {
      const out = this.dense(TASK_HEAD_TENSORS, last, B, d, 1, false);
      const y = out.y;
      const t = batch.targets as Float32Array;
      // tf.losses.meanSquaredError: float32 squares summed, divided by B
      let sum = 0;
      for (let i = 0; i < B; i++) sum += Math.fround((t[i] - y[i]) * (t[i] - y[i]));
      const loss = Math.fround(Math.fround(sum) / B);
      return {
        loss,
        correct: 0,
        count: 0,
        backward: () => {
          const scale = Math.fround(1 / B);
          const dy = Float32Array.from(y, (v, i) =>
            Math.fround(scale * Math.fround(Math.fround(v - t[i]) * 2)),
          );
          return dOutputs(T - 1, out.backward(dy));
        },
      };
    }
    const H = this.arch.headHidden;
    const { W1, b1, W2, b2 } = CLASSIFIER_TENSORS;
    const hidden = this.dense({ W: W1, b: b1 }, last, B, d, H, true);
    const masked = (x: Float32Array) =>
      dropout === null ? x : x.map((v, i) => Math.fround(v * dropout[i]));
    const logits = this.dense({ W: W2, b: b2 }, masked(hidden.y), B, H, K, false);
    return this.classification(logits.y, batch.targets as Int32Array, B, (dLogits) =>
      dOutputs(T - 1, hidden.backward(masked(logits.backward(dLogits)))),
    );
  }
}

const NO_HEAD: HeadPass = {
  loss: Number.NaN,
  correct: 0,
  count: 0,
  backward: () => {
    throw new Error('no head was run');
  },
};

/**
 * A seeded Bernoulli mask of n elements, the native draw of cells' zoneoutMasks (hit 1, miss 0)
 * and of the trainers' dropout masks (hit 0, miss 1 / (1 - rate)): the same stream bit for bit.
 */
export function bernoulliMask(
  rate: number,
  seed: number,
  n: number,
  hit: number,
  miss: number,
): Float32Array {
  return requireNative('bernoulliMask').bernoulliMask(rate, seed, n, hit, miss);
}

/** Rows whose first largest logit is the target (tf.argMax's choice). */
function countCorrect(logits: Float32Array, targets: Int32Array, K: number): number {
  let correct = 0;
  for (let r = 0; r < targets.length; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[r * K + k] > logits[r * K + best]) best = k;
    if (best === targets[r]) correct++;
  }
  return correct;
}
