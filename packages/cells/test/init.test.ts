import * as tf from '@tensorflow/tfjs';
import {
  type Core,
  type LayerConfig,
  layerLayout,
  type MECHANISMS,
  parameterCount,
} from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { gate, initLayerParams } from '../src/index.js';

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * One-sample Kolmogorov–Smirnov statistic of `samples` against the uniform law on [lo, hi].
 * At significance α = 0.01 the asymptotic critical value is 1.628 / √n.
 */
function ksUniform(samples: number[], lo: number, hi: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  let worst = 0;
  sorted.forEach((x, k) => {
    const cdf = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
    worst = Math.max(worst, Math.abs((k + 1) / n - cdf), Math.abs(cdf - k / n));
  });
  return worst;
}
const ksCritical01 = (n: number) => 1.628 / Math.sqrt(n);

function blockValues(cfg: LayerConfig, vec: ArrayLike<number>, name: string): number[] {
  const blk = layerLayout(cfg).blocks.find((b) => b.name === name);
  if (!blk) throw new Error(`no block ${name}`);
  return Array.from(vec).slice(blk.offset, blk.offset + blk.width);
}

describe('bias initialisation', () => {
  const d = 400;
  for (const core of ['lstm', 'gru'] as Core[]) {
    for (const mechanism of ['U-', 'UR-'] as const) {
      it(`${mechanism} ${core}: UGI forget activations σ(b_f) are uniform on [1/d, 1-1/d] (KS, α = 0.01, seed 11)`, () => {
        const cfg = { core, mechanism, inputSize: 1, hiddenSize: d };
        const b = initLayerParams(cfg, 11).b.dataSync();
        const bf = blockValues(cfg, b, 'f');
        const f = bf.map(sigma);
        expect(Math.min(...f)).toBeGreaterThanOrEqual(1 / d - 1e-6);
        expect(Math.max(...f)).toBeLessThanOrEqual(1 - 1 / d + 1e-6);
        expect(ksUniform(f, 1 / d, 1 - 1 / d)).toBeLessThan(ksCritical01(d));
        const tied = mechanism === 'UR-' ? 'r' : core === 'lstm' ? 'i' : undefined;
        if (tied)
          blockValues(cfg, b, tied).forEach((v, k) => {
            expect(v).toBeCloseTo(-bf[k], 5);
          });
      });
    }
  }

  it('C-: decay periods D = 1 + e^{b_f} are uniform on [2, tMax] and b_i = -b_f (KS, α = 0.01, seed 5)', () => {
    const cfg = {
      core: 'lstm' as Core,
      mechanism: 'C-' as const,
      inputSize: 1,
      hiddenSize: d,
      tMax: 100,
    };
    const b = initLayerParams(cfg, 5).b.dataSync();
    const bf = blockValues(cfg, b, 'f');
    const D = bf.map((v) => 1 / (1 - sigma(v)));
    D.forEach((x, k) => {
      expect(x).toBeCloseTo(1 + Math.exp(bf[k]), 2);
    });
    expect(ksUniform(D, 2, 100)).toBeLessThan(ksCritical01(d));
    blockValues(cfg, b, 'i').forEach((v, k) => {
      expect(v).toBeCloseTo(-bf[k], 5);
    });
  });

  it('C-: tMax defaults to the hidden size', () => {
    const cfg = { core: 'gru' as Core, mechanism: 'C-' as const, inputSize: 1, hiddenSize: d };
    const D = blockValues(cfg, initLayerParams(cfg, 6).b.dataSync(), 'f').map(
      (v) => 1 + Math.exp(v),
    );
    expect(ksUniform(D, 2, d)).toBeLessThan(ksCritical01(d));
  });

  it('UM-: master activations uniform on [1/m, 1-1/m], b_mi = -b_mf, b_f = 1', () => {
    const cfg = {
      core: 'lstm' as Core,
      mechanism: 'UM-' as const,
      inputSize: 1,
      hiddenSize: 800,
      downsize: 4,
    };
    const b = initLayerParams(cfg, 8).b.dataSync();
    const mf = blockValues(cfg, b, 'mf');
    const m = 200;
    expect(mf.length).toBe(m);
    expect(ksUniform(mf.map(sigma), 1 / m, 1 - 1 / m)).toBeLessThan(ksCritical01(m));
    blockValues(cfg, b, 'mi').forEach((v, k) => {
      expect(v).toBeCloseTo(-mf[k], 5);
    });
    blockValues(cfg, b, 'f').forEach((v) => {
      expect(v).toBe(1);
    });
  });

  it('constant biases: 1.0 on f for -, R-, OM-; zero everywhere for O-, OR-; zero on every other block', () => {
    const expectedF: Record<string, number> = { '-': 1, 'R-': 1, 'OM-': 1, 'O-': 0, 'OR-': 0 };
    for (const [mechanism, bf] of Object.entries(expectedF)) {
      for (const core of ['lstm', 'gru'] as Core[]) {
        const cfg = {
          core,
          mechanism: mechanism as (typeof MECHANISMS)[number],
          inputSize: 2,
          hiddenSize: 8,
          downsize: 4,
        };
        const b = initLayerParams(cfg, 1).b.dataSync();
        for (const blk of layerLayout(cfg).blocks) {
          const want = blk.name === 'f' ? bf : 0;
          blockValues(cfg, b, blk.name).forEach((v) => {
            expect(v).toBe(want);
          });
        }
      }
    }
  });

  it('fixedGateOffset moves the UGI values to bOffset and starts b at zero there', () => {
    for (const mechanism of ['U-', 'UR-', 'UM-'] as const) {
      const cfg = { core: 'lstm' as Core, mechanism, inputSize: 2, hiddenSize: 8, downsize: 4 };
      const trained = initLayerParams(cfg, 3);
      const fixed = initLayerParams({ ...cfg, fixedGateOffset: true }, 3);
      expect(trained.bOffset).toBeUndefined();
      const sumFixed = fixed.b.add(fixed.bOffset as tf.Tensor1D).dataSync();
      Array.from(trained.b.dataSync()).forEach((v, k) => {
        expect(sumFixed[k]).toBeCloseTo(v, 6);
      });
      const ugiBlocks =
        mechanism === 'UM-' ? ['mf', 'mi'] : mechanism === 'UR-' ? ['f', 'r'] : ['f', 'i'];
      for (const name of ugiBlocks)
        blockValues(cfg, fixed.b.dataSync(), name).forEach((v) => {
          expect(v).toBe(0);
        });
      expect(fixed.W.dataSync()).toEqual(trained.W.dataSync());
    }
  });
});

describe('weights', () => {
  it('W is Glorot-uniform over its full shape and reproducible from the seed', () => {
    const cfg = { core: 'lstm' as Core, mechanism: '-' as const, inputSize: 30, hiddenSize: 50 };
    const W = initLayerParams(cfg, 21).W;
    expect(W.shape).toEqual([80, 200]);
    const limit = Math.sqrt(6 / (80 + 200));
    const w = Array.from(W.dataSync());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    // Uniform on [-L, L] has variance L²/3; 16000 samples put the estimate within ~1.1 % (1σ).
    expect(Math.abs(variance / ((limit * limit) / 3) - 1)).toBeLessThan(0.05);
    expect(initLayerParams(cfg, 21).W.dataSync()).toEqual(W.dataSync());
    expect(initLayerParams(cfg, 22).W.dataSync()).not.toEqual(W.dataSync());
  });
});

describe('parameter counts', () => {
  const n = 10;
  const d = 64;
  const C = 16;
  for (const core of ['lstm', 'gru'] as Core[]) {
    it(`${core}: refine variants match their base layout; master variants add 2·d/C gate units`, () => {
      const count = (mechanism: (typeof MECHANISMS)[number]) =>
        parameterCount({ core, mechanism, inputSize: n, hiddenSize: d, downsize: C });
      const base = count('-');
      expect(base).toBe((n + d + 1) * (core === 'lstm' ? 4 : 3) * d);
      for (const m of ['C-', 'U-', 'O-'] as const) expect(count(m)).toBe(base);
      // On the LSTM r takes i's place; the GRU has no separate input block, so r adds one.
      for (const m of ['R-', 'UR-', 'OR-'] as const)
        expect(count(m)).toBe(core === 'lstm' ? base : base + (n + d + 1) * d);
      for (const m of ['OM-', 'UM-'] as const)
        expect(count(m)).toBe(base + (n + d + 1) * ((2 * d) / C));
    });
  }
});

describe('ordered master gates (paper Propositions 3 and 4)', () => {
  it('Proposition 3: with f = i = 1/2 the effective F + I averages 1 - (m²-1)/(6m²) → 5/6 over master positions', () => {
    // Zero master pre-activations make softmax uniform, so the master at position k is
    // f̃ = k/m, ĩ = 1 - k/m; then F + I = f̃ + ĩ - f̃ĩ and its mean over k is the closed form.
    for (const [m, C] of [
      [4, 2],
      [1000, 1],
    ]) {
      const zeros = (w: number) => tf.zeros([1, w]) as tf.Tensor2D;
      const { forget, input } = gate(
        'OM-',
        'lstm',
        { f: zeros(m * C), i: zeros(m * C), mf: zeros(m), mi: zeros(m) },
        C,
      );
      const meanSum = forget.add(input).mean().dataSync()[0];
      expect(meanSum).toBeCloseTo(1 - (m * m - 1) / (6 * m * m), 5);
      // F alone averages (m+1)/(2m) - (m²-1)/(12m²) → 5/12.
      expect(forget.mean().dataSync()[0]).toBeCloseTo(
        (m + 1) / (2 * m) - (m * m - 1) / (12 * m * m),
        5,
      );
    }
  });

  it('Proposition 3 in expectation over random master pre-activations (independent mf, mi)', () => {
    // E[cumax(a)_k] = k/m for exchangeable a, and mf, mi are independent, so the expected
    // mean of F + I is the same closed form; 4000 rows bring the estimate within ~0.002.
    const m = 8;
    const rows = 4000;
    const half = tf.zeros([rows, m]) as tf.Tensor2D;
    const mf = tf.randomNormal([rows, m], 0, 1, 'float32', 1) as tf.Tensor2D;
    const mi = tf.randomNormal([rows, m], 0, 1, 'float32', 2) as tf.Tensor2D;
    const { forget, input } = gate('OM-', 'gru', { f: half, s: half, mf, mi }, 1);
    expect(
      Math.abs(forget.add(input).mean().dataSync()[0] - (1 - (m * m - 1) / (6 * m * m))),
    ).toBeLessThan(0.006);
  });

  it('Proposition 4: tied masters ĩ = 1 - f̃ with the overlap ω counted twice give exactly the refine gate', () => {
    // UM- on the GRU has ι = 1 - f; with a_mi = -a_mf the masters are tied (ĩ = 1 - f̃), so
    // F = f·ω + f̃², I = (1-f)·ω + (1-f̃)². Adding f·ω and (1-f)·ω (ω counted twice) gives
    // f̃² + 2·f·f̃(1-f̃) = g(f̃, r = f) and 1 - g: the refine gate on base f̃ with refine r = f.
    const aF = tf.tensor2d([[-3, -0.5, 0, 0.7, 2.5, 4]]);
    const aM = tf.tensor2d([[1.5, -2, 0.3, -0.1, 3, -4]]);
    const um = gate('UM-', 'gru', { f: aF, s: aF, mf: aM, mi: aM.neg() as tf.Tensor2D }, 1);
    const refine = gate('R-', 'gru', { f: aM, r: aF }, 1);
    const f = Array.from(aF.dataSync(), sigma);
    const ft = Array.from(aM.dataSync(), sigma);
    const F = um.forget.dataSync();
    const I = um.input.dataSync();
    const g = refine.forget.dataSync();
    f.forEach((fk, k) => {
      const omega = ft[k] * (1 - ft[k]);
      expect(F[k] + fk * omega).toBeCloseTo(g[k], 6);
      expect(I[k] + (1 - fk) * omega).toBeCloseTo(1 - g[k], 6);
    });
  });
});
