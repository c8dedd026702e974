// One rank's share of the LM's global batch (data parallel): the shares' losses and gradients,
// weighted by their rows, add up to the whole batch's, with dropout (each share draws its rows
// of the whole batch's masks) and article resets, and the shares' states are the whole state's rows.
import * as tf from '@tensorflow/tfjs';
import { nativeAvailable, useNativeKernels } from '@urgate/kernels';
import { describe, expect, it } from 'vitest';
import {
  createLmModel,
  type LmArchitecture,
  type LmState,
  type LmTargetWindow,
  lmLoss,
} from '../src/lm/model.js';
import { stateRows, windowRows } from '../src/lm/share.js';

const arch: LmArchitecture = {
  core: 'lstm',
  mechanism: 'UR-',
  numLayers: 2,
  vocabSize: 31,
  embeddingSize: 7,
  hiddenSize: 6,
  layerNorm: true,
  tiedEmbeddings: false,
};
const T = 5;
const B = 5;

function window(): LmTargetWindow {
  let s = 17;
  const next = () => {
    s = (s * 16807) % 2147483647;
    return Math.floor((s / 2147483647) * arch.vocabSize);
  };
  const resets = new Uint8Array(T * B);
  resets[2 * B + 3] = 1; // row 3 starts an article at step 2
  return {
    steps: T,
    batch: B,
    inputs: Int32Array.from({ length: T * B }, next),
    targets: Int32Array.from({ length: T * B }, next),
    resets,
  };
}

function warm(rows: number, lo: number): LmState {
  const at = (k: number) => Math.sin(k + 1) / 2;
  return Array.from({ length: arch.numLayers }, (_, l) => {
    const full = (key: number) =>
      Float32Array.from({ length: B * arch.hiddenSize }, (_, k) => at(k + 100 * l + 1000 * key));
    const part = (key: number) =>
      tf.tensor2d(stateRows(full(key), arch.hiddenSize, lo, lo + rows), [rows, arch.hiddenSize]);
    return { h: part(0), c: part(1) };
  });
}

describe.skipIf(!nativeAvailable)('a share of the global batch', () => {
  it('weighted by rows, the shares give the whole batch loss, gradients and state', () => {
    useNativeKernels();
    const model = createLmModel(arch, 3);
    const vars = Object.values(model.params);
    const w = window();
    const step = (lo: number, hi: number, ownMasks = false) => {
      const whole = (lo === 0 && hi === B) || ownMasks;
      let state: Float32Array[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const out = lmLoss(model, windowRows(w, lo, hi), warm(hi - lo, lo), {
          training: true,
          dropout: 0.3,
          seed: 5,
          step: 2,
          ...(whole ? {} : { rows: { total: B, offset: lo } }),
        });
        state = out.state.flatMap((s) =>
          [s.h, s.c as tf.Tensor].map((t) => t.dataSync() as Float32Array),
        );
        return out.loss;
      }, vars);
      const weight = (hi - lo) / B;
      return {
        loss: value.dataSync()[0] * weight,
        grads: vars.map((v) => Array.from(grads[v.name].dataSync(), (x) => x * weight)),
        state,
      };
    };
    const whole = step(0, B);
    const shares = [step(0, 2), step(2, 5)];
    expect(shares[0].loss + shares[1].loss).toBeCloseTo(whole.loss, 6);
    whole.grads.forEach((g, i) => {
      g.forEach((x, k) => {
        const sum = shares[0].grads[i][k] + shares[1].grads[i][k];
        expect(Math.abs(sum - x)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(x));
      });
    });
    // Shares that drew masks of their own shape (not their rows of the whole) would differ.
    const own = [step(0, 2, true), step(2, 5, true)];
    expect(Math.abs(own[0].loss + own[1].loss - whole.loss)).toBeGreaterThan(1e-3);
    const d = arch.hiddenSize;
    whole.state.forEach((s, j) => {
      expect(Array.from(shares[0].state[j])).toEqual(Array.from(s.subarray(0, 2 * d)));
      expect(Array.from(shares[1].state[j])).toEqual(Array.from(s.subarray(2 * d)));
    });
  });
});
