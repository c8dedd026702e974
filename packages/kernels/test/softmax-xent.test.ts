// Fused softmax cross-entropy against a float64 computation in plain JS.
import * as tf from '@tensorflow/tfjs';
import { closeness } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import { nativeAvailable, nativeLoadError } from '../src/native.js';
import { softmaxCrossEntropy } from '../src/softmax-xent.js';
import { Lcg } from './helpers.js';

/** mean -log softmax(x)[y] and its gradient, in float64. */
function reference(
  logits: Float32Array,
  targets: Int32Array,
  V: number,
): { loss: number; grad: Float64Array } {
  const N = targets.length;
  const grad = new Float64Array(N * V);
  let loss = 0;
  for (let r = 0; r < N; r++) {
    let mx = -Infinity;
    for (let j = 0; j < V; j++) mx = Math.max(mx, logits[r * V + j]);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[r * V + j] - mx);
    loss += Math.log(sum) + mx - logits[r * V + targets[r]];
    for (let j = 0; j < V; j++) grad[r * V + j] = Math.exp(logits[r * V + j] - mx) / sum / N;
    grad[r * V + targets[r]] -= 1 / N;
  }
  return { loss: loss / N, grad };
}

describe.skipIf(!nativeAvailable)(
  `softmaxCrossEntropy${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    it('matches float64 loss and gradient (rows not a multiple of the vector width, large logits)', () => {
      const N = 37;
      const V = 1003;
      const rng = new Lcg(3);
      const x = rng.array(N * V, 40); // spread of ±20: exercises the max shift
      const y = Int32Array.from({ length: N }, () => rng.index(V));
      const expected = reference(x, y, V);
      const logits = tf.tensor2d(x, [N, V]);
      const targets = tf.tensor1d(y, 'int32');
      const loss = softmaxCrossEntropy(logits, targets);
      expect(Math.abs(loss.dataSync()[0] - expected.loss)).toBeLessThanOrEqual(
        1e-5 + 1e-5 * expected.loss,
      );
      // upstream gradient 2.5: the op scales its saved gradient by dy
      const grad = tf.grad((l: tf.Tensor) =>
        softmaxCrossEntropy(l as tf.Tensor2D, targets).mul(2.5),
      )(logits);
      const scaled = expected.grad.map((g) => g * 2.5);
      expect(closeness(grad.dataSync(), scaled, 1e-4, 1e-9)).toBeLessThanOrEqual(1);
    });

    it('rejects targets outside [0, V), float targets and mismatched rows with a named error', () => {
      const logits = tf.zeros([2, 3]) as tf.Tensor2D;
      expect(() => softmaxCrossEntropy(logits, tf.tensor1d([0, 3], 'int32'))).toThrow(
        /targets\[1\]: expected a class in \[0, 3\)/,
      );
      expect(() => softmaxCrossEntropy(logits, tf.tensor1d([0, 1], 'float32'))).toThrow(
        /targets: expected dtype int32/,
      );
      expect(() => softmaxCrossEntropy(logits, tf.tensor1d([0, 1, 2], 'int32'))).toThrow(
        /targets: expected a \[2\] tensor/,
      );
    });
  },
);
