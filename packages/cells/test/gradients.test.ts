import * as tf from '@tensorflow/tfjs';
import { CORES, MECHANISMS } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { runLayerReference } from '../src/index.js';
import {
  lcg,
  type Matrix,
  type RefState,
  randomMatrix,
  refCols,
  refSequence,
} from './reference64.js';

// Analytic gradients (tfjs autodiff, float32) against central finite differences of the
// independent float64 reference, so the differences carry no float32 rounding noise.
const T = 2;
const B = 2;
const n = 2;
const d = 4;
const C = 2;
const EPS = 1e-6;

const sum = (m: Matrix, w: Matrix) =>
  m.reduce((s, row, r) => s + row.reduce((t, v, k) => t + v * w[r][k], 0), 0);

describe('gradients match finite differences', () => {
  for (const core of CORES) {
    for (const mechanism of MECHANISMS) {
      it(`${mechanism} ${core}: w.r.t. xs, h0, c0, W, b`, () => {
        const rc = { core, mechanism, n, d, C };
        const cfg = { core, mechanism, inputSize: n, hiddenSize: d, downsize: C };
        const rand = lcg(101 + MECHANISMS.indexOf(mechanism) + (core === 'gru' ? 50 : 0));
        const cols = refCols(rc);
        const values = {
          xs: Array.from({ length: T }, () => randomMatrix(B, n, rand)),
          h0: randomMatrix(B, d, rand, 0.7),
          c0: randomMatrix(B, d, rand),
          W: randomMatrix(n + d, cols, rand, 0.9),
          b: randomMatrix(1, cols, rand, 0.5),
        };
        const P = Array.from({ length: T }, () => randomMatrix(B, d, rand));
        const Q = randomMatrix(B, d, rand);
        const R = randomMatrix(B, d, rand);
        const reset = [
          [0, 0],
          [0, 1],
        ];
        const zoneoutH = Array.from({ length: T }, () =>
          randomMatrix(B, d, rand).map((r) => r.map((v) => (v > 0.3 ? 1 : 0.25))),
        );
        const zoneoutC = Array.from({ length: T }, () =>
          randomMatrix(B, d, rand).map((r) => r.map((v) => (v > 0 ? 0 : 0.5))),
        );

        const refLoss = (v: typeof values) => {
          const state0: RefState = core === 'lstm' ? { h: v.h0, c: v.c0 } : { h: v.h0 };
          const extras = core === 'lstm' ? { reset, zoneoutH, zoneoutC } : { reset, zoneoutH };
          const out = refSequence(rc, v.W, v.b[0], v.xs, state0, extras);
          let loss = out.outputs.reduce((s, o, t) => s + sum(o, P[t]), 0) + sum(out.state.h, Q);
          if (core === 'lstm') loss += sum(out.state.c as Matrix, R);
          return loss;
        };

        const names =
          core === 'lstm'
            ? (['xs', 'h0', 'c0', 'W', 'b'] as const)
            : (['xs', 'h0', 'W', 'b'] as const);
        const lossFn = (xs: tf.Tensor, h0: tf.Tensor, ...rest: tf.Tensor[]) => {
          const [c0, W, b] = core === 'lstm' ? rest : [undefined, ...rest];
          const state0 =
            core === 'lstm'
              ? { h: h0 as tf.Tensor2D, c: c0 as tf.Tensor2D }
              : { h: h0 as tf.Tensor2D };
          const out = runLayerReference(
            cfg,
            { W: W as tf.Tensor2D, b: (b as tf.Tensor2D).reshape([-1]) as tf.Tensor1D },
            xs as tf.Tensor3D,
            state0,
            {
              reset: tf.tensor2d(reset),
              zoneoutH: tf.tensor3d(zoneoutH),
              zoneoutC: core === 'lstm' ? tf.tensor3d(zoneoutC) : undefined,
            },
          );
          let loss = out.outputs
            .mul(tf.tensor3d(P))
            .sum()
            .add(out.state.h.mul(tf.tensor2d(Q)).sum());
          if (core === 'lstm')
            loss = loss.add((out.state.c as tf.Tensor2D).mul(tf.tensor2d(R)).sum());
          return loss as tf.Scalar;
        };
        const inputs = names.map((name) => tf.tensor(values[name] as number[][]));
        const grads = tf.grads(lossFn as (...args: tf.Tensor[]) => tf.Scalar)(inputs);

        names.forEach((name, k) => {
          const analytic = grads[k].dataSync();
          const target = values[name] as unknown as number[][] | number[][][];
          const cells: [number[], number][] = [];
          const walk = (a: unknown): void => {
            const arr = a as unknown[];
            if (typeof arr[0] === 'number')
              arr.forEach((_, j) => {
                cells.push([arr as number[], j]);
              });
            else arr.forEach(walk);
          };
          walk(target);
          expect(cells.length).toBe(analytic.length);
          cells.forEach(([row, j], idx) => {
            const keep = row[j];
            row[j] = keep + EPS;
            const up = refLoss(values);
            row[j] = keep - EPS;
            const down = refLoss(values);
            row[j] = keep;
            const numeric = (up - down) / (2 * EPS);
            const err = Math.abs(analytic[idx] - numeric);
            if (err > 2e-4 + 1e-3 * Math.abs(numeric)) {
              throw new Error(
                `${name}[${idx}]: autodiff ${analytic[idx]} vs finite difference ${numeric}`,
              );
            }
          });
        });
      });
    }
  }
});
