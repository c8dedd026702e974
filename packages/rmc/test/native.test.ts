// runRmc on the native kernels (@urgate/kernels' runRmcFused) against runRmcReference (tfjs
// ops differentiated by tfjs autodiff), for every mechanism × gate style, 1 and 2 attention
// blocks, on shapes that are not multiples of the vector width (inputSize 5, memSlots 3,
// headSize 5 × numHeads 3 = memSize 15, keySize 7, B = 3, T = 4).
//
// Tolerance: every element satisfies |native - reference| <= 1e-5 + 1e-4·|reference|.

import * as tf from '@tensorflow/tfjs';
import type { GateStyle, RmcConfig, RmcMechanism } from '@urgate/contract';
import { nativeAvailable, nativeLoadError } from '@urgate/kernels';
import { parityRatio } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import { initialMemory, initRmcParams, runRmc, runRmcReference } from '../src/index.js';
import { lcg } from './reference64.js';

const T = 4;
const B = 3;

/** Every valid mechanism × gate style (resolveRmcConfig refuses the rest). */
const COMBOS: [RmcMechanism, GateStyle][] = [
  ['-', 'unit'],
  ['C-', 'unit'],
  ['U-', 'unit'],
  ['UR-', 'unit'],
  ['OM-', 'unit'],
  ['-', 'memory'],
  ['C-', 'memory'],
  ['-', 'none'],
];

/** Outputs, final memory and the gradients of <P, outputs> + <Q, memory> w.r.t. everything. */
function evaluate(
  run: typeof runRmcReference,
  cfg: RmcConfig,
  seed: number,
): Record<string, Float32Array> {
  return tf.tidy(() => {
    const rand = lcg(seed);
    const noise = (shape: number[], scale: number) =>
      tf.tensor(
        Float32Array.from(
          { length: shape.reduce((a, b) => a * b, 1) },
          () => scale * (rand() - 0.5),
        ),
        shape,
      );
    // initialised parameters plus noise, so that norms, biases and offsets are all non-trivial
    const params = initRmcParams(cfg, seed);
    for (const name of Object.keys(params))
      params[name] = params[name].add(noise(params[name].shape, 0.4));
    const names = Object.keys(params);
    const xs = noise([T, B, cfg.inputSize], 2);
    const memory0 = initialMemory(cfg, B).add(
      noise([B, cfg.memSlots, cfg.headSize * cfg.numHeads], 0.6),
    );
    const width = cfg.memSlots * cfg.headSize * cfg.numHeads;
    const P = noise([T, B, width], 2);
    const Q = noise([B, cfg.memSlots, cfg.headSize * cfg.numHeads], 2);
    const out: Record<string, Float32Array> = {};
    const result = run(cfg, params, xs as tf.Tensor3D, memory0 as tf.Tensor3D);
    out.outputs = result.outputs.dataSync() as Float32Array;
    out.memory = result.memory.dataSync() as Float32Array;
    const grads = tf.grads((x: tf.Tensor, m: tf.Tensor, ...ps: tf.Tensor[]) => {
      const named = Object.fromEntries(names.map((name, k) => [name, ps[k]]));
      const r = run(cfg, named, x as tf.Tensor3D, m as tf.Tensor3D);
      return r.outputs.mul(P).sum().add(r.memory.mul(Q).sum()) as tf.Scalar;
    })([xs, memory0, ...names.map((name) => params[name])]);
    ['xs', 'memory0', ...names].forEach((name, k) => {
      out[`d ${name}`] = grads[k].dataSync() as Float32Array;
    });
    return out;
  });
}

describe.skipIf(!nativeAvailable)(
  `runRmc on the native kernels equals the tfjs reference${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    for (const [mechanism, gateStyle] of COMBOS) {
      for (const numBlocks of [1, 2]) {
        it(`${mechanism} ${gateStyle}, ${numBlocks} block(s): outputs, memory and every gradient`, () => {
          const cfg: RmcConfig = {
            inputSize: 5,
            memSlots: 3,
            headSize: 5,
            numHeads: 3,
            keySize: 7,
            numBlocks,
            attentionMlpLayers: numBlocks === 1 ? 2 : 3,
            gateStyle,
            mechanism,
            downsize: 5,
          };
          const native = evaluate(
            (c, p, x, m) => runRmc(c, p, x, m, 'native'),
            cfg,
            11 + numBlocks,
          );
          const reference = evaluate(runRmcReference, cfg, 11 + numBlocks);
          expect(Object.keys(native)).toEqual(Object.keys(reference));
          const worst = Object.fromEntries(
            Object.keys(reference).map((k) => [k, parityRatio(native[k], reference[k])]),
          );
          const failing = Object.entries(worst).filter(([, w]) => !(w <= 1));
          expect(failing).toEqual([]);
        });
      }
    }
  },
);
