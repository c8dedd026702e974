// FusedAdam against a hand-written float64 Adam with global-norm clipping.
import * as tf from '@tensorflow/tfjs';
import { closeness } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import { FusedAdam } from '../src/fused-adam.js';
import { nativeAvailable, nativeLoadError } from '../src/native.js';
import { Lcg } from './helpers.js';

interface Slot {
  p: number[];
  m: number[];
  v: number[];
}

/** Adam (Kingma & Ba, Algorithm 1) with the gradient scaled to norm <= clip. */
function adamReference(
  slots: Slot[],
  grads: number[][],
  step: number,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  clip: number,
): number {
  const norm = Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0));
  const scale = clip > 0 && norm > clip ? clip / norm : 1;
  slots.forEach((s, k) => {
    grads[k].forEach((g0, j) => {
      const g = g0 * scale;
      s.m[j] = b1 * s.m[j] + (1 - b1) * g;
      s.v[j] = b2 * s.v[j] + (1 - b2) * g * g;
      const mHat = s.m[j] / (1 - b1 ** step);
      const vHat = s.v[j] / (1 - b2 ** step);
      s.p[j] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    });
  });
  return norm;
}

describe.skipIf(!nativeAvailable)(
  `FusedAdam${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    for (const clipNorm of [0, 0.5]) {
      it(`matches a float64 Adam over 5 steps (clipNorm ${clipNorm})`, () => {
        const rng = new Lcg(5);
        const shapes = [[7, 13], [13], [1]];
        const init = shapes.map((s) =>
          rng.array(
            s.reduce((a, b) => a * b, 1),
            2,
          ),
        );
        const original = tf.tensor(init[0], shapes[0]);
        const vars = init.map((v, k) =>
          k === 0 ? tf.variable(original) : tf.variable(tf.tensor(v, shapes[k])),
        );
        const slots: Slot[] = init.map((v) => ({
          p: Array.from(v),
          m: Array.from(v, () => 0),
          v: Array.from(v, () => 0),
        }));
        const opt = new FusedAdam(vars, { lr: 0.01, clipNorm });
        for (let step = 1; step <= 5; step++) {
          const g = shapes.map((s) =>
            rng.array(
              s.reduce((a, b) => a * b, 1),
              3,
            ),
          );
          const expectedNorm = adamReference(
            slots,
            g.map((a) => Array.from(a)),
            step,
            0.01,
            0.9,
            0.999,
            1e-8,
            clipNorm,
          );
          const { gradNorm } = opt.step(g.map((a, k) => tf.tensor(a, shapes[k])));
          expect(Math.abs(gradNorm - expectedNorm)).toBeLessThan(1e-5 * expectedNorm);
        }
        for (const [k, v] of vars.entries()) {
          expect(closeness(v.dataSync(), slots[k].p, 1e-5, 1e-6), `param ${k}`).toBeLessThanOrEqual(
            1,
          );
        }
        // in-place updates stay private to the variable
        expect(Array.from(original.dataSync())).toEqual(Array.from(init[0]));
      });
    }

    it('accepts gradients by variable name and rejects missing or mis-shaped ones', () => {
      const a = tf.variable(tf.ones([2, 2]), true, 'adam-test-a');
      const opt = new FusedAdam([a], { lr: 0.1 });
      expect(() => opt.step({})).toThrow(/grads\['adam-test-a'\]: expected a tf.Tensor/);
      expect(() => opt.step([tf.ones([3])])).toThrow(
        /grads\[0\]: expected a float32 tensor of shape \[2,2\]/,
      );
      opt.step({ 'adam-test-a': tf.ones([2, 2]) });
      // first Adam step moves every parameter by lr (m̂/√v̂ = 1)
      expect(closeness(a.dataSync(), [0.9, 0.9, 0.9, 0.9], 1e-6, 1e-6)).toBeLessThanOrEqual(1);
    });
  },
);
