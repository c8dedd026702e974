// The model-level native ops against tfjs: the dense layer (value and gradients, linear and
// relu), step slices, and the argument checks of the whole-model LM calls.
import * as tf from '@tensorflow/tfjs';
import { closeness } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import { denseFused, sliceSteps } from '../src/model-ops.js';
import { type NativeAddon, type NativeLmShape, native, nativeLoadError } from '../src/native.js';
import { Lcg } from './helpers.js';

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

    it('the LM object refuses bad arguments with one line naming them', () => {
      const k = native as NativeAddon;
      const spec: NativeLmShape = {
        core: 'lstm',
        mechanism: 'UR-',
        numLayers: 1,
        vocabSize: 5,
        embeddingSize: 2,
        hiddenSize: 2,
        downsize: 1,
        layerNorm: false,
        tiedEmbeddings: true,
      };
      const table = [
        { name: 'embedding', size: 10 },
        { name: 'layers.0.W', size: 4 * 8 },
        { name: 'layers.0.b', size: 8 },
        { name: 'output.b', size: 5 },
      ];
      const f = (n: number) => new Float32Array(n);
      const model = new k.LmModel(spec, table);
      expect(model.size).toBe(55);
      expect(model.arenas.map((a) => a.byteLength)).toEqual([4 * 55, 4 * 55, 4 * 55, 4 * 55]);
      const window = {
        batch: 1,
        steps: 3,
        inputs: Int32Array.from([0, 1, 2]),
        targets: Int32Array.from([1, 2, 3]),
        reset: null,
        h0: [f(2)],
        c0: [f(2)],
      };
      expect(model.score(window).nll.length).toBe(3);
      expect(() => model.score({ ...window, targets: Int32Array.from([1, 5, 0]) })).toThrow(
        new RangeError('window.targets[1]: expected a token id in [0, 5), got 5'),
      );
      expect(() => model.trainStep({ ...window, h0: [f(3)] }, null)).toThrow(
        /^window.h0\[0\]: expected 2 float32 values, got 3/,
      );
      expect(() => model.trainStep(window, { rate: 1, embeddingSeed: 0, outputSeed: 0 })).toThrow(
        /^dropout.rate: expected a rate in \[0, 1\)/,
      );
      expect(() => new k.LmModel({ ...spec, embeddingSize: 3 }, table)).toThrow(
        /^embeddingSize: tied embeddings need embeddingSize = hiddenSize/,
      );
      expect(
        () =>
          new k.LmModel(spec, [
            ...table.slice(0, 1),
            { name: 'layers.0.W', size: 31 },
            ...table.slice(2),
          ]),
      ).toThrow(/^tensors: 'layers.0.W' has 31 elements, this model's has 32/);
      expect(() => new k.LmModel(spec, table.slice(1))).toThrow(/^tensors: 'embedding' is missing/);
      expect(() => new k.LmModel(spec, [...table, { name: 'output.W', size: 10 }])).toThrow(
        /^tensors: 'output.W' is not a tensor of this model/,
      );
      // adaptive softmax (V 5, d 2, cutoffs 2, 4, tail div 1: projections of 2 units)
      const adaptiveSpec = { ...spec, adaptiveSoftmax: { cutoffs: [2, 4], tailDiv: 1 } };
      const adaptiveTable = [
        ...table.slice(0, 3),
        { name: 'adaptive.head.clusters', size: 4 },
        { name: 'adaptive.head.b', size: 4 },
        { name: 'adaptive.tail.0.proj', size: 4 },
        { name: 'adaptive.tail.0.out', size: 4 },
        { name: 'adaptive.tail.1.proj', size: 4 },
        { name: 'adaptive.tail.1.out', size: 2 },
      ];
      expect(new k.LmModel(adaptiveSpec, adaptiveTable).score(window).nll.length).toBe(3);
      expect(() => new k.LmModel(adaptiveSpec, table)).toThrow(
        /^tensors: 'output.b' is not a tensor of this model/,
      );
      expect(
        () =>
          new k.LmModel(adaptiveSpec, [
            ...adaptiveTable.slice(0, -1),
            { name: 'adaptive.tail.1.out', size: 3 },
          ]),
      ).toThrow(/^tensors: 'adaptive.tail.1.out' has 3 elements, this model's has 2/);
      expect(
        () =>
          new k.LmModel(
            { ...adaptiveSpec, adaptiveSoftmax: { cutoffs: [4, 2], tailDiv: 1 } },
            adaptiveTable,
          ),
      ).toThrow(
        /adaptiveSoftmax.cutoffs: expected strictly increasing cutoffs in \(0, 5\), got \[4, 2\]/,
      );
    });
  },
);
