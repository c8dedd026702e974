import * as tf from '@tensorflow/tfjs';
import { CORES, type Core, MECHANISMS } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { gate, layerStep, runLayerReference } from '../src/index.js';
import { lcg, type Matrix, randomMatrix, refCols, refSequence, refStep } from './reference64.js';

const near = (actual: ArrayLike<number>, expected: number[], tol = 2e-6) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, k) => {
    expect(Math.abs(actual[k] - e)).toBeLessThanOrEqual(tol * (1 + Math.abs(e)));
  });
};
const flat = (m: Matrix | Matrix[]): number[] => (m as unknown[]).flat(2) as number[];
const t2 = (m: Matrix) => tf.tensor2d(m);

describe('hand-worked steps', () => {
  it('standard LSTM with zero weights: f = i = o = 1/2, u = 0', () => {
    const cfg = { core: 'lstm' as Core, mechanism: '-' as const, inputSize: 1, hiddenSize: 1 };
    const s = layerStep(
      cfg,
      { W: tf.zeros([2, 4]) as tf.Tensor2D, b: tf.zeros([4]) as tf.Tensor1D },
      tf.zeros([1, 1]),
      {
        h: tf.zeros([1, 1]),
        c: tf.ones([1, 1]),
      },
    );
    near((s.c as tf.Tensor).dataSync(), [0.5]);
    near(s.h.dataSync(), [0.5 * Math.tanh(0.5)]);
  });

  it('R-LSTM: f = 3/4, r = 3/4 give g = 2·r·f + (1-2r)·f² = 0.84375', () => {
    // Blocks f r u o; biases log 3 make σ = 3/4; u = tanh(0) = 0 so c = g·c_prev.
    const cfg = { core: 'lstm' as Core, mechanism: 'R-' as const, inputSize: 1, hiddenSize: 1 };
    const b = tf.tensor1d([Math.log(3), Math.log(3), 0, 0]);
    const s = layerStep(cfg, { W: tf.zeros([2, 4]) as tf.Tensor2D, b }, tf.zeros([1, 1]), {
      h: tf.zeros([1, 1]),
      c: tf.ones([1, 1]),
    });
    near((s.c as tf.Tensor).dataSync(), [0.84375]);
  });

  it('GRU applies its reset gate to h before the update block', () => {
    // Blocks f s u; x = h = 1, W_u = [1; 1], s = σ(log 3) = 3/4: a_u = 1 + 3/4, f = 1/2.
    const cfg = { core: 'gru' as Core, mechanism: '-' as const, inputSize: 1, hiddenSize: 1 };
    const W = tf.tensor2d([
      [0, 0, 1],
      [0, 0, 1],
    ]);
    const s = layerStep(cfg, { W, b: tf.tensor1d([0, Math.log(3), 0]) }, tf.ones([1, 1]), {
      h: tf.ones([1, 1]),
    });
    near(s.h.dataSync(), [0.5 + 0.5 * Math.tanh(1.75)]);
  });

  it('OM- with zero pre-activations, two masters of one neuron each', () => {
    // cumax([0,0]) = [1/2, 1]; ĩ = [1/2, 0]; ω = [1/4, 0]; f = i = 1/2.
    const z = tf.zeros([1, 2]) as tf.Tensor2D;
    const { forget, input } = gate('OM-', 'lstm', { f: z, i: z, mf: z, mi: z }, 1);
    near(forget.dataSync(), [0.5 * 0.25 + 0.25, 1]);
    near(input.dataSync(), [0.5 * 0.25 + 0.25, 0]);
  });
});

function setup(core: Core, mechanism: string, seed: number) {
  const rc = { core, mechanism, n: 3, d: 4, C: 2 };
  const rand = lcg(seed);
  const cols = refCols(rc);
  return {
    rc,
    cfg: {
      core,
      mechanism: mechanism as (typeof MECHANISMS)[number],
      inputSize: 3,
      hiddenSize: 4,
      downsize: 2,
    },
    W: randomMatrix(7, cols, rand, 0.8),
    b: randomMatrix(1, cols, rand, 0.5)[0],
    rand,
  };
}

describe('every mechanism and core against the float64 reference', () => {
  for (const core of CORES) {
    for (const mechanism of MECHANISMS) {
      it(`${mechanism} ${core}: step and sequence with reset and zoneout`, () => {
        const { rc, cfg, W, b, rand } = setup(core, mechanism, 7 + MECHANISMS.indexOf(mechanism));
        const T = 3;
        const B = 2;
        const xs = Array.from({ length: T }, () => randomMatrix(B, 3, rand));
        const h0 = randomMatrix(B, 4, rand, 0.5);
        const c0 = randomMatrix(B, 4, rand);
        const state0 = core === 'lstm' ? { h: h0, c: c0 } : { h: h0 };
        const params = { W: t2(W), b: tf.tensor1d(b) };
        const tfState0 = core === 'lstm' ? { h: t2(h0), c: t2(c0) } : { h: t2(h0) };

        const step = layerStep(cfg, params, t2(xs[0]), tfState0);
        const refOne = refStep(rc, W, b, xs[0], state0);
        near(step.h.dataSync(), flat(refOne.h));
        if (core === 'lstm') near((step.c as tf.Tensor).dataSync(), flat(refOne.c as Matrix));

        const reset = [
          [0, 0],
          [1, 0],
          [0, 1],
        ];
        const zoneoutH = Array.from({ length: T }, () =>
          randomMatrix(B, 4, rand).map((r) => r.map((v) => (v > 0 ? 1 : 0.3))),
        );
        const zoneoutC = Array.from({ length: T }, () =>
          randomMatrix(B, 4, rand).map((r) => r.map((v) => (v > 0 ? 0 : 1))),
        );
        const extras = core === 'lstm' ? { reset, zoneoutH, zoneoutC } : { reset, zoneoutH };
        const seq = runLayerReference(cfg, params, tf.tensor3d(xs), tfState0, {
          reset: t2(reset),
          zoneoutH: tf.tensor3d(zoneoutH),
          zoneoutC: core === 'lstm' ? tf.tensor3d(zoneoutC) : undefined,
        });
        const ref = refSequence(rc, W, b, xs, state0, extras);
        near(seq.outputs.dataSync(), flat(ref.outputs));
        near(seq.state.h.dataSync(), flat(ref.state.h));
        if (core === 'lstm')
          near((seq.state.c as tf.Tensor).dataSync(), flat(ref.state.c as Matrix));
        else expect(seq.state.c).toBeUndefined();
      });
    }
  }
});

describe('gate properties', () => {
  const rand = lcg(3);
  const pre = () => tf.tensor2d(randomMatrix(8, 16, rand, 6));
  for (const mechanism of ['R-', 'UR-', 'OR-'] as const) {
    it(`${mechanism}: f² ≤ g ≤ 1-(1-f)² and I = 1 - F`, () => {
      const aF = pre();
      const aR = pre();
      for (const core of CORES) {
        const { forget, input } = gate(mechanism, core, { f: aF, r: aR }, 1);
        const f =
          mechanism === 'OR-' ? tf.cumsum(tf.softmax(aF), 1).dataSync() : tf.sigmoid(aF).dataSync();
        const g = forget.dataSync();
        const i = input.dataSync();
        g.forEach((gk, k) => {
          expect(gk).toBeGreaterThanOrEqual(f[k] ** 2 - 1e-6);
          expect(gk).toBeLessThanOrEqual(1 - (1 - f[k]) ** 2 + 1e-6);
          expect(i[k]).toBeCloseTo(1 - gk, 6);
        });
      }
    });
  }

  it('every mechanism gives gates in [0, 1]', () => {
    for (const mechanism of MECHANISMS) {
      for (const core of CORES) {
        const { forget, input } = gate(
          mechanism,
          core,
          {
            f: pre(),
            i: pre(),
            r: pre(),
            mf: tf.tensor2d(randomMatrix(8, 4, rand, 6)),
            mi: tf.tensor2d(randomMatrix(8, 4, rand, 6)),
          },
          4,
        );
        for (const v of [...forget.dataSync(), ...input.dataSync()]) {
          expect(v).toBeGreaterThanOrEqual(-1e-6);
          expect(v).toBeLessThanOrEqual(1 + 1e-6);
        }
      }
    }
  });
});
