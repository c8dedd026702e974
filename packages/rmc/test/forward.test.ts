import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { rmcGates, rmcStep } from '../src/index.js';
import { configPair, expectClose, flat3, toTensors } from './helpers.js';
import { lcg, type RefConfig, randomFlat, randomParams, refStep } from './reference64.js';

// One step in float32 tfjs against the float64 plain-JS reference, on random small weights.
const cases: Partial<RefConfig>[] = [
  { mechanism: '-' },
  { mechanism: 'C-' },
  { mechanism: 'U-' },
  { mechanism: 'UR-' },
  { mechanism: 'OM-' },
  { mechanism: '-', gateStyle: 'memory' },
  { mechanism: 'C-', gateStyle: 'memory' },
  { mechanism: '-', gateStyle: 'none' },
  { numBlocks: 1, keySize: 2, mlpLayers: 3, numHeads: 3, headSize: 1, memSlots: 2 },
  { mlpLayers: 1, memSlots: 5, numHeads: 1, headSize: 3 },
];

describe('one step equals the float64 reference', () => {
  cases.forEach((overrides, n) => {
    const { cfg, ref } = configPair(overrides);
    it(`${JSON.stringify(overrides)}`, () => {
      const rand = lcg(7 + n);
      const D = ref.headSize * ref.numHeads;
      const B = 2;
      const params = randomParams(ref, rand);
      const x = randomFlat([B, ref.inputSize], rand);
      const memory = randomFlat([B, ref.memSlots, D], rand, 0.8);
      const xRows = [0, 1].map((b) =>
        Array.from(x.data.subarray(b * ref.inputSize, (b + 1) * ref.inputSize)),
      );
      const memRows = [0, 1].map((b) =>
        Array.from({ length: ref.memSlots }, (_, s) =>
          Array.from(
            memory.data.subarray((b * ref.memSlots + s) * D, (b * ref.memSlots + s + 1) * D),
          ),
        ),
      );
      const expected = refStep(ref, params, xRows, memRows);

      const p = toTensors(params);
      const xT = tf.tensor2d(Float32Array.from(x.data), [B, ref.inputSize]);
      const mT = tf.tensor3d(Float32Array.from(memory.data), [B, ref.memSlots, D]);
      const out = rmcStep(cfg, p, xT, mT);
      expect(out.output.shape).toEqual([B, ref.memSlots * D]);
      expect(out.memory.shape).toEqual([B, ref.memSlots, D]);
      expectClose(out.memory.dataSync(), flat3(expected.memory), 2e-5, 'memory');
      expectClose(out.output.dataSync(), expected.output.flat(), 2e-5, 'output');
      if (ref.gateStyle !== 'none') {
        const gates = rmcGates(cfg, p, xT, mT);
        const G = ref.gateStyle === 'unit' ? D : 1;
        expect(gates.forget.shape).toEqual([B, ref.memSlots, G]);
        expectClose(gates.forget.dataSync(), flat3(expected.forget ?? []), 2e-5, 'forget');
        expectClose(gates.input.dataSync(), flat3(expected.input ?? []), 2e-5, 'input');
      }
    });
  });
});
