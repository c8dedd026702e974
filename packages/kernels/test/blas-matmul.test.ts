// The OpenBLAS BatchMatMul kernel against the tfjs cpu backend's own kernel.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { registerBlasMatMul, unregisterBlasMatMul } from '../src/blas-matmul.js';
import { nativeAvailable, nativeLoadError } from '../src/native.js';
import { closeness, Lcg } from './helpers.js';

const CASES: { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }[] = [
  { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
  { a: [7, 5], b: [7, 3], transposeA: true, transposeB: false },
  { a: [5, 7], b: [3, 7], transposeA: false, transposeB: true },
  { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
  { a: [4, 5, 7], b: [4, 7, 3], transposeA: false, transposeB: false },
  { a: [2, 3, 7, 5], b: [7, 9], transposeA: true, transposeB: false }, // b broadcast over the batch
  { a: [1, 5, 7], b: [6, 9, 7], transposeA: false, transposeB: true }, // a broadcast
  { a: [2, 1, 5, 7], b: [1, 3, 7, 4], transposeA: false, transposeB: false }, // general broadcast: falls back
];

describe.skipIf(!nativeAvailable)(
  `BLAS BatchMatMul${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    afterAll(() => unregisterBlasMatMul());

    it('equals the tfjs kernel with transposes and batch broadcasting, and in gradients', () => {
      const rng = new Lcg(9);
      const inputs = CASES.map((c) => ({
        ...c,
        A: tf.tensor(
          rng.array(
            c.a.reduce((x, y) => x * y, 1),
            2,
          ),
          c.a,
        ),
        B: tf.tensor(
          rng.array(
            c.b.reduce((x, y) => x * y, 1),
            2,
          ),
          c.b,
        ),
      }));
      const run = () =>
        inputs.map(({ A, B, transposeA, transposeB }) => {
          const out = tf.matMul(A, B, transposeA, transposeB);
          // tfjs' own BatchMatMul gradient does not reduce broadcast batch dimensions
          if (A.shape.slice(0, -2).join() !== B.shape.slice(0, -2).join()) return { out };
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            tf.matMul(a, b, transposeA, transposeB).square().sum();
          const [ga, gb] = tf.grads(f)([A, B]);
          return { out, ga, gb };
        });
      const expected = run();
      registerBlasMatMul();
      expect(tf.getKernel('BatchMatMul', 'cpu')?.kernelFunc.name).toBe('blasBatchMatMul');
      const actual = run();
      actual.forEach((r, i) => {
        expect(r.out.shape, `case ${i}`).toEqual(expected[i].out.shape);
        for (const key of ['out', 'ga', 'gb'] as const) {
          const got = r[key];
          const want = expected[i][key];
          if (got === undefined || want === undefined) continue;
          expect(
            closeness(got.dataSync(), want.dataSync(), 1e-5, 1e-5),
            `case ${i} ${key}`,
          ).toBeLessThanOrEqual(1);
        }
      });
    });

    it('fused matMul (bias, relu: the Dense layer path) equals the tfjs kernel, with gradients', () => {
      unregisterBlasMatMul();
      const rng = new Lcg(4);
      const a = tf.tensor2d(rng.array(6 * 5, 2), [6, 5]);
      const w = tf.tensor2d(rng.array(7 * 5, 2), [7, 5]);
      const bias = tf.tensor1d(rng.array(7, 2));
      const cases = ['linear', 'relu', 'elu'] as const; // elu falls back to tfjs
      const run = () =>
        cases.map((activation) => {
          const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
            tf.fused.matMul({
              a: x as tf.Tensor2D,
              b: y as tf.Tensor2D,
              transposeB: true,
              bias: z,
              activation,
            });
          const [ga, gw, gb] = tf.grads((x, y, z) => f(x, y, z).square().sum())([a, w, bias]);
          return [f(a, w, bias), ga, gw, gb];
        });
      const expected = run();
      registerBlasMatMul();
      expect(tf.getKernel('_FusedMatMul', 'cpu')?.kernelFunc.name).toBe('blasFusedMatMul');
      const actual = run();
      for (const [i, tensors] of actual.entries()) {
        for (const [j, t] of tensors.entries()) {
          const want = expected[i][j].dataSync();
          expect(
            closeness(t.dataSync(), want, 1e-5, 1e-5),
            `${cases[i]} output ${j}`,
          ).toBeLessThanOrEqual(1);
        }
      }
    });
  },
);
