// runLayerFused (native forward + BPTT) against @urgate/cells'
// runLayerReference differentiated by tfjs autodiff, for every core ×
// mechanism, with and without zoneout masks and reset rows, on shapes that
// are not multiples of the vector width; and at the sizes where the recurrent
// products run csrc/packed_gemm.cc's tiles whole and in part (AVX-512 CPUs).
//
// Tolerance: every element within @urgate/test-checks' NATIVE_PARITY,
// |native - reference| <= 1e-5 + 1e-4·|reference| (values and gradients are O(1)).

import * as tf from '@tensorflow/tfjs';
import {
  initLayerParams,
  runLayerReference,
  type SequenceExtras,
  type SequenceResult,
  zoneoutMasks,
} from '@urgate/cells';
import { type Core, type LayerConfig, MECHANISMS, type Mechanism } from '@urgate/contract';
import { parityRatio } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import { runLayerFused } from '../src/fused-layer.js';
import { nativeAvailable, nativeLoadError } from '../src/native.js';
import { Lcg } from './helpers.js';

/** Steps, batch, input size; the hidden size is the config's. */
interface Sizes {
  T: number;
  B: number;
  n: number;
}
const SMALL: Sizes = { T: 7, B: 3, n: 5 };
const d = 20;

type Run = typeof runLayerReference;

/** Outputs, final state and gradients of L = <R, outputs> + <Rh, h_T> + <Rc, c_T>. */
function evaluate(
  run: Run,
  cfg: LayerConfig,
  seed: number,
  withExtras: boolean,
  { T, B, n }: Sizes = SMALL,
): Record<string, Float32Array> {
  const d = cfg.hiddenSize;
  return tf.tidy(() => {
    const rng = new Lcg(seed);
    const params = initLayerParams(cfg, seed);
    const lstm = cfg.core === 'lstm';
    const xs = tf.tensor3d(rng.array(T * B * n, 2), [T, B, n]);
    const h0 = tf.tensor2d(rng.array(B * d, 1), [B, d]);
    const c0 = tf.tensor2d(rng.array(B * d, 1), [B, d]);
    const R = tf.tensor3d(rng.array(T * B * d, 1), [T, B, d]);
    const Rh = tf.tensor2d(rng.array(B * d, 1), [B, d]);
    const Rc = tf.tensor2d(rng.array(B * d, 1), [B, d]);
    const extras: SequenceExtras = {};
    if (withExtras) {
      extras.reset = tf.tensor2d(
        Float32Array.from({ length: T * B }, (_, i) => (i % 5 === 2 ? 1 : 0)),
        [T, B],
      );
      extras.zoneoutH = zoneoutMasks(0.3, [T, B, d], seed + 1) as tf.Tensor3D;
      if (lstm) extras.zoneoutC = zoneoutMasks(0.5, [T, B, d], seed + 2) as tf.Tensor3D;
    }
    const out: Record<string, Float32Array> = {};
    const loss = (...args: tf.Tensor[]): tf.Scalar => {
      const [x, W, b, h, c] = args;
      const state0 = lstm ? { h: h as tf.Tensor2D, c: c as tf.Tensor2D } : { h: h as tf.Tensor2D };
      const p = { W: W as tf.Tensor2D, b: b as tf.Tensor1D, bOffset: params.bOffset };
      const forward: SequenceResult = run(cfg, p, x as tf.Tensor3D, state0, extras);
      // read now: tf.grads disposes the forward's tensors
      out.outputs = forward.outputs.dataSync() as Float32Array;
      out.h = forward.state.h.dataSync() as Float32Array;
      if (lstm) out.c = (forward.state.c as tf.Tensor2D).dataSync() as Float32Array;
      let l = forward.outputs.mul(R).sum().add(forward.state.h.mul(Rh).sum());
      if (lstm) l = l.add((forward.state.c as tf.Tensor2D).mul(Rc).sum());
      return l as tf.Scalar;
    };
    const [gx, gW, gb, gh, gc] = tf.grads(loss)(
      lstm ? [xs, params.W, params.b, h0, c0] : [xs, params.W, params.b, h0],
    );
    out.dxs = gx.dataSync() as Float32Array;
    out.dW = gW.dataSync() as Float32Array;
    out.db = gb.dataSync() as Float32Array;
    out.dh0 = gh.dataSync() as Float32Array;
    if (lstm) out.dc0 = gc.dataSync() as Float32Array;
    return out;
  });
}

describe.skipIf(!nativeAvailable)(
  `runLayerFused vs runLayerReference${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    for (const core of ['lstm', 'gru'] as Core[]) {
      for (const mechanism of MECHANISMS as Mechanism[]) {
        for (const withExtras of [false, true]) {
          // UGI mechanisms also run with the fixed gate offset, covering bOffset.
          const fixedGateOffset = mechanism.startsWith('U');
          const cfg: LayerConfig = {
            core,
            mechanism,
            inputSize: SMALL.n,
            hiddenSize: d,
            downsize: 4,
            fixedGateOffset,
          };
          it(`${core} ${mechanism}${withExtras ? ' with zoneout + reset rows' : ''}${fixedGateOffset ? ' (bOffset)' : ''}`, () => {
            const seed = 11 + MECHANISMS.indexOf(mechanism);
            const expected = evaluate(runLayerReference, cfg, seed, withExtras);
            const actual = evaluate(runLayerFused, cfg, seed, withExtras);
            for (const key of Object.keys(expected)) {
              expect(parityRatio(actual[key], expected[key]), key).toBeLessThanOrEqual(1);
            }
          });
        }
      }
    }
  },
);

// 9 rows: one whole tile of 8 and a padded one; d = 300: the forward product's k runs past one
// 256-deep pass, the backward's op(B) has 300 columns (six whole 48-column panels and a part).
describe.skipIf(!nativeAvailable)(
  `runLayerFused vs runLayerReference, B=9, d=300${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    // the LSTM's one product per step; the GRU's blocks before u and u (its masters after u, 300 x 150,
    // are under the packing threshold and stay on OpenBLAS)
    for (const [core, mechanism] of [
      ['lstm', 'UR-'],
      ['gru', 'OM-'],
    ] as [Core, Mechanism][]) {
      const cfg: LayerConfig = { core, mechanism, inputSize: 5, hiddenSize: 300, downsize: 4 };
      it(`${core} ${mechanism}`, () => {
        const sizes: Sizes = { T: 2, B: 9, n: 5 };
        const expected = evaluate(runLayerReference, cfg, 5, true, sizes);
        const actual = evaluate(runLayerFused, cfg, 5, true, sizes);
        for (const key of Object.keys(expected)) {
          expect(parityRatio(actual[key], expected[key]), key).toBeLessThanOrEqual(1);
        }
      });
    }
  },
);
