// The model-level native ops against tfjs: the dense layer (value and gradients, linear and
// relu), step slices, and the argument checks of the whole-model LM calls.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { denseFused, sliceSteps } from '../src/model-ops.js';
import { type NativeAddon, type NativeLmSpec, native, nativeLoadError } from '../src/native.js';
import { closeness, Lcg } from './helpers.js';

describe.skipIf(native === undefined)(
  `model-level ops${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    it.each(['linear', 'relu'] as const)(
      'denseFused (%s) equals tfjs matMul + bias, with gradients',
      (act) => {
        const rng = new Lcg(9);
        const x = tf.tensor2d(rng.array(7 * 5, 2), [7, 5]);
        const W = tf.tensor2d(rng.array(5 * 3, 2), [5, 3]);
        const b = tf.tensor1d(rng.array(3, 2));
        const up = tf.tensor2d(rng.array(7 * 3, 2), [7, 3]);
        const reference = (xi: tf.Tensor, Wi: tf.Tensor, bi: tf.Tensor) => {
          const y = tf.add(tf.matMul(xi as tf.Tensor2D, Wi as tf.Tensor2D), bi);
          return tf.sum(tf.mul(act === 'relu' ? tf.relu(y) : y, up));
        };
        const fused = (xi: tf.Tensor, Wi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(
            tf.mul(denseFused(xi as tf.Tensor2D, Wi as tf.Tensor2D, bi as tf.Tensor1D, act), up),
          );
        const want = tf.grads(reference)([x, W, b]);
        const got = tf.grads(fused)([x, W, b]);
        expect(
          closeness(fused(x, W, b).dataSync(), reference(x, W, b).dataSync(), 1e-5, 1e-6),
        ).toBeLessThanOrEqual(1);
        got.forEach((g, i) => {
          expect(closeness(g.dataSync(), want[i].dataSync(), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
        });
      },
    );

    it('sliceSteps equals tf.slice and its gradient is zero outside the slice', () => {
      const x = tf.tensor3d(new Lcg(3).array(5 * 2 * 3, 1), [5, 2, 3]);
      expect(Array.from(sliceSteps(x, 2, 2).dataSync())).toEqual(
        Array.from(x.slice([2, 0, 0], [2, 2, 3]).dataSync()),
      );
      const g = tf.grad((t: tf.Tensor) => tf.sum(sliceSteps(t as tf.Tensor3D, 4, 1)))(x);
      expect(Array.from(g.dataSync())).toEqual([...new Array(24).fill(0), ...new Array(6).fill(1)]);
      expect(() => sliceSteps(x, 4, 2)).toThrow(/^sliceSteps: steps \[4, 6\) are outside \[0, 5\)/);
    });

    it('lmTrainStep / lmScore refuse bad arguments with one line naming them', () => {
      const k = native as NativeAddon;
      const spec: NativeLmSpec = {
        core: 'lstm',
        mechanism: 'UR-',
        numLayers: 1,
        vocabSize: 5,
        embeddingSize: 2,
        hiddenSize: 2,
        downsize: 1,
        layerNorm: false,
        tiedEmbeddings: true,
        batch: 1,
        steps: 3,
      };
      const f = (n: number) => new Float32Array(n);
      const params = { embedding: f(10), W: [f(4 * 8)], b: [f(8)], outputB: f(5) };
      const batch = {
        inputs: Int32Array.from([0, 1, 2]),
        targets: Int32Array.from([1, 2, 3]),
        reset: null,
        h0: [f(2)],
        c0: [f(2)],
      };
      expect(k.lmScore(spec, params, batch).nll.length).toBe(3);
      expect(() =>
        k.lmScore(spec, params, { ...batch, targets: Int32Array.from([1, 5, 0]) }),
      ).toThrow(new RangeError('batch.targets[1]: expected a token id in [0, 5), got 5'));
      expect(() => k.lmTrainStep(spec, { ...params, W: [f(31)] }, batch, null)).toThrow(
        /^params.W\[0\]: expected 32 float32 values, got 31/,
      );
      expect(() => k.lmTrainStep({ ...spec, embeddingSize: 3 }, params, batch, null)).toThrow(
        /^spec.embeddingSize: tied embeddings need embeddingSize = hiddenSize/,
      );
      expect(() =>
        k.lmTrainStep(spec, params, batch, { rate: 1, embeddingSeed: 0, outputSeed: 0 }),
      ).toThrow(/^dropout.rate: expected a rate in \[0, 1\)/);
      // adaptive softmax (V 5, d 2, cutoffs 2, 4, tail div 1: projections of 2 units)
      const adaptiveSpec = { ...spec, adaptiveSoftmax: { cutoffs: [2, 4], tailDiv: 1 } };
      const adaptive = { clusters: f(4), headB: f(4), proj: [f(4), f(4)], out: [f(4), f(2)] };
      const { outputB: _, ...stack } = params;
      expect(k.lmScore(adaptiveSpec, { ...stack, adaptive }, batch).nll.length).toBe(3);
      expect(() => k.lmScore(adaptiveSpec, stack, batch)).toThrow(
        /^params.adaptive: expected an object \{shortlist, clusters, headB, proj, out\}, got undefined/,
      );
      expect(() =>
        k.lmScore(adaptiveSpec, { ...stack, adaptive: { ...adaptive, out: [f(4), f(3)] } }, batch),
      ).toThrow(/^params.adaptive.out\[1\]: expected 2 float32 values, got 3/);
      expect(() =>
        k.lmScore(
          { ...adaptiveSpec, adaptiveSoftmax: { cutoffs: [4, 2], tailDiv: 1 } },
          stack,
          batch,
        ),
      ).toThrow(
        /^spec.adaptiveSoftmax.cutoffs: expected strictly increasing cutoffs in \(0, 5\), got \[4, 2\]/,
      );
    });
  },
);
