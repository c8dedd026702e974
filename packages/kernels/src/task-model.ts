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

  private head(batch: TaskModelBatch, h: Float32Array, dropout: Float32Array | null): HeadPass {
    const T = batch.steps;
    const B = batch.batchSize;
    const d = this.arch.layers[this.arch.layers.length - 1].hiddenSize;
    const K = this.arch.outputSize;
    const a = this.addon;
    const dOutputs = (from: number, dx: Float32Array) => {
      const out = new Float32Array(T * B * d);
      out.set(dx, from * B * d);
      return out;
    };
    const last = h.subarray((T - 1) * B * d);
    if (this.arch.head === 'copy') {
      const start = batch.targetStart as number;
      const rows = (T - start) * B;
      const targets = batch.targets as Int32Array;
      const pass = this.softmaxDense(h.subarray(start * B * d), rows, targets, TASK_HEAD_TENSORS);
      return {
        loss: pass.loss,
        correct: countCorrect(pass.logits, targets, K),
        count: rows,
        backward: () => dOutputs(start, pass.backward()),
      };
    }
    if (this.arch.head === 'regression') {
      const W = this.view(TASK_HEAD_TENSORS.W);
      const y = a.denseForward(last, W, this.view(TASK_HEAD_TENSORS.b), B, d, 1, false);
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
          const g = a.denseBackward(last, W, y, dy, B, d, 1, false);
          this.view(TASK_HEAD_TENSORS.W, 'grads').set(g.dW);
          this.view(TASK_HEAD_TENSORS.b, 'grads').set(g.db);
          return dOutputs(T - 1, g.dx);
        },
      };
    }
    const H = this.arch.headHidden;
    const W1 = this.view(CLASSIFIER_TENSORS.W1);
    const W2 = this.view(CLASSIFIER_TENSORS.W2);
    const hidden = a.denseForward(last, W1, this.view(CLASSIFIER_TENSORS.b1), B, d, H, true);
    const dropped = dropout === null ? hidden : hidden.map((v, i) => Math.fround(v * dropout[i]));
    const logits = a.denseForward(dropped, W2, this.view(CLASSIFIER_TENSORS.b2), B, H, K, false);
    const labels = batch.targets as Int32Array;
    const { loss, dLogits } = a.softmaxCrossEntropy(logits, labels, K);
    return {
      loss: Math.fround(loss),
      correct: countCorrect(logits, labels, K),
      count: B,
      backward: () => {
        const g2 = a.denseBackward(dropped, W2, logits, dLogits, B, H, K, false);
        this.view(CLASSIFIER_TENSORS.W2, 'grads').set(g2.dW);
        this.view(CLASSIFIER_TENSORS.b2, 'grads').set(g2.db);
        const dHidden = dropout === null ? g2.dx : g2.dx.map((v, i) => Math.fround(v * dropout[i]));
        const g1 = a.denseBackward(last, W1, hidden, dHidden, B, d, H, true);
        this.view(CLASSIFIER_TENSORS.W1, 'grads').set(g1.dW);
        this.view(CLASSIFIER_TENSORS.b1, 'grads').set(g1.db);
        return dOutputs(T - 1, g1.dx);
      },
    };
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
