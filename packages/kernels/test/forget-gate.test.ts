// effectiveForget (Float32Arrays, no tfjs) against cells' gate() for every core × mechanism.
import * as tf from '@tensorflow/tfjs';
import { gate, splitBlocks } from '@urgate/cells';
import { CORES, layerLayout, MECHANISMS, resolveLayerConfig } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { effectiveForget } from '../src/forget-gate.js';

describe('effectiveForget equals cells gate().forget', () => {
  for (const core of CORES)
    for (const mechanism of MECHANISMS)
      it(`${mechanism}${core}`, () => {
        const cfg = resolveLayerConfig({
          core,
          mechanism,
          inputSize: 3,
          hiddenSize: 8,
          downsize: 2,
        });
        const { cols } = layerLayout(cfg);
        const rows = 5;
        let s = 7;
        const pre = Float32Array.from({ length: rows * cols }, () => {
          s = (s * 16807) % 2147483647;
          return 6 * (s / 2147483647) - 3;
        });
        const expected = tf.tidy(() => {
          const blocks = splitBlocks(tf.tensor2d(pre, [rows, cols]), layerLayout(cfg));
          return Array.from(gate(mechanism, core, blocks, cfg.downsize).forget.dataSync());
        });
        const actual = effectiveForget(cfg, pre, rows);
        expect(actual.length).toBe(expected.length);
        actual.forEach((v, k) => {
          expect(Math.abs(v - expected[k])).toBeLessThanOrEqual(1e-6);
        });
      });
});
