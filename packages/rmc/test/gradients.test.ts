import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'vitest';
import { runRmc } from '../src/index.js';
import { configPair, ENGINES } from './helpers.js';
import {
  type Flat,
  lcg,
  type Mat,
  type RefConfig,
  randomFlat,
  randomParams,
  refStep,
} from './reference64.js';

// Analytic gradients (float32: tfjs autodiff of the reference, the native BPTT where built) of a
// two-step loss against central finite differences of the float64 reference, w.r.t. the inputs,
// the initial memory and every parameter tensor.
const T = 2;
const B = 2;
const EPS = 1e-6;

const cases: Partial<RefConfig>[] = [
  { mechanism: '-' },
  { mechanism: 'C-', gateStyle: 'memory' },
  { mechanism: 'U-', numBlocks: 1 },
  { mechanism: 'UR-', numBlocks: 1 },
  { mechanism: 'OM-', numBlocks: 1 },
  { mechanism: '-', gateStyle: 'none', mlpLayers: 3 },
];

const rows = (f: Flat, t: number, count: number, width: number): Mat =>
  Array.from({ length: count }, (_, r) =>
    Array.from(f.data.subarray((t * count + r) * width, (t * count + r + 1) * width)),
  );

describe('gradients match finite differences', () => {
  cases.forEach((overrides, n) => {
    const { cfg, ref } = configPair(overrides);
    it(`${JSON.stringify(overrides)}: w.r.t. xs, memory0 and every parameter, on ${ENGINES.join(' and ')}`, () => {
      const rand = lcg(301 + n);
      const D = ref.headSize * ref.numHeads;
      const N = ref.memSlots;
      const params = randomParams(ref, rand);
      const xs = randomFlat([T, B, ref.inputSize], rand);
      const memory0 = randomFlat([B, N, D], rand, 0.8);
      const P = randomFlat([T, B, N * D], rand);
      const Q = randomFlat([B, N, D], rand);

      const refLoss = (): number => {
        let memory = Array.from({ length: B }, (_, b) => rows(memory0, b, N, D));
        let loss = 0;
        for (let t = 0; t < T; t++) {
          const step = refStep(ref, params, rows(xs, t, B, ref.inputSize), memory);
          step.output.forEach((row, b) => {
            row.forEach((v, j) => {
              loss += v * P.data[(t * B + b) * N * D + j];
            });
          });
          memory = step.memory;
        }
        memory.flat(2).forEach((v, j) => {
          loss += v * Q.data[j];
        });
        return loss;
      };

      const names = Object.keys(params);
      const targets: [string, Flat][] = [
        ['xs', xs],
        ['memory0', memory0],
        ...names.map((name): [string, Flat] => [name, params[name]]),
      ];
      const lossFn =
        (engine: (typeof ENGINES)[number]) =>
        (xsT: tf.Tensor, m0: tf.Tensor, ...ps: tf.Tensor[]): tf.Scalar => {
          const named = Object.fromEntries(names.map((name, k) => [name, ps[k]]));
          const out = runRmc(cfg, named, xsT as tf.Tensor3D, m0 as tf.Tensor3D, engine);
          return out.outputs
            .mul(tf.tensor(Float32Array.from(P.data), P.shape))
            .sum()
            .add(out.memory.mul(tf.tensor(Float32Array.from(Q.data), Q.shape)).sum());
        };
      const inputs = targets.map(([, f]) => tf.tensor(Float32Array.from(f.data), f.shape));
      // per engine, per target: the analytic gradient (the finite differences are shared)
      const grads = ENGINES.map((engine) =>
        tf
          .grads(lossFn(engine) as (...args: tf.Tensor[]) => tf.Scalar)(inputs)
          .map((g) => g.dataSync()),
      );

      targets.forEach(([name, f], k) => {
        for (let j = 0; j < f.data.length; j++) {
          const keep = f.data[j];
          f.data[j] = keep + EPS;
          const up = refLoss();
          f.data[j] = keep - EPS;
          const down = refLoss();
          f.data[j] = keep;
          const numeric = (up - down) / (2 * EPS);
          ENGINES.forEach((engine, e) => {
            const analytic = grads[e][k][j];
            if (Math.abs(analytic - numeric) > 2e-4 + 1e-3 * Math.abs(numeric))
              throw new Error(
                `${engine} ${name}[${j}]: gradient ${analytic} vs finite difference ${numeric}`,
              );
          });
        }
      });
    });
  });
});
