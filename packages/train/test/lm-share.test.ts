// One rank's share of the LM's global batch (data parallel): the shares' losses and gradients,
// weighted by their rows, add up to the whole batch's, with dropout (each share draws its rows
// of the whole batch's masks) and article resets, and the shares' states are the whole state's rows.
import type { LmWindow } from '@urgate/kernels/native';
import { nativeAvailable } from '@urgate/kernels/native';
import { describe, expect, it } from 'vitest';
import {
  createLanguageModel,
  type LmArchitecture,
  type LmState,
  lmDropout,
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

function window(): LmWindow {
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

/** Rows [lo, hi) of a warm [B, d] state per layer. */
function warm(lo: number, hi: number): LmState {
  const d = arch.hiddenSize;
  const full = (l: number, key: number) =>
    Float32Array.from({ length: B * d }, (_, k) => Math.sin(k + 1 + 100 * l + 1000 * key) / 2);
  return Array.from({ length: arch.numLayers }, (_, l) => ({
    h: stateRows(full(l, 0), d, lo, hi),
    c: stateRows(full(l, 1), d, lo, hi),
  }));
}

describe.skipIf(!nativeAvailable)('a share of the global batch', () => {
  it('weighted by rows, the shares give the whole batch loss, gradients and state', async () => {
    const model = await createLanguageModel(arch, 3);
    const w = window();
    const step = (lo: number, hi: number, ownMasks = false) => {
      const whole = (lo === 0 && hi === B) || ownMasks;
      const rows = whole ? undefined : { total: B, offset: lo };
      const out = model.trainStep(windowRows(w, lo, hi), warm(lo, hi), lmDropout(0.3, 5, 2, rows));
      const weight = (hi - lo) / B;
      return {
        loss: out.loss * weight,
        grads: Array.from(model.grads, (x) => x * weight),
        state: out.state.flatMap((s) => [s.h, s.c as Float32Array]),
      };
    };
    const whole = step(0, B);
    const shares = [step(0, 2), step(2, 5)];
    expect(shares[0].loss + shares[1].loss).toBeCloseTo(whole.loss, 6);
    whole.grads.forEach((x, k) => {
      const sum = shares[0].grads[k] + shares[1].grads[k];
      expect(Math.abs(sum - x)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(x));
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
