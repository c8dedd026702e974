// runLayerFused (native forward + BPTT) against @urgate/cells'
// runLayerReference differentiated by tfjs autodiff, for every core ×
// mechanism, with and without zoneout masks and reset rows, on shapes that
// are not multiples of the vector width.
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

const T = 7;
const B = 3;
const n = 5;
const d = 20;

type Run = typeof runLayerReference;

/** Outputs, final state and gradients of L = <R, outputs> + <Rh, h_T> + <Rc, c_T>. */
function evaluate(
  run: Run,
  cfg: LayerConfig,
  seed: number,
  withExtras: boolean,
): Record<string, Float32Array> {
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
            inputSize: n,
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
