// The C++ sequence kernels against finite differences of their own forward
// pass: independent of @urgate/cells, it checks that the backward pass is the
// derivative of the forward pass for every gate family, with and without
// zoneout masks and reset rows.
import { describe, expect, it } from 'vitest';
import { type NativeAddon, type NativeLayerShape, native, nativeLoadError } from '../src/native.js';
import { columns, Lcg } from './helpers.js';

const T = 4;
const B = 2;
const n = 3;
const d = 8;
const C = 4;
const FAMILIES = ['-', 'O-', 'R-', 'OR-', 'OM-', 'UM-'] as const;

describe.skipIf(native === undefined)(
  `native BPTT vs central differences${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    for (const core of ['lstm', 'gru'] as const) {
      for (const mechanism of FAMILIES) {
        for (const withExtras of [false, true]) {
          it(`${core} ${mechanism}${withExtras ? ' with zoneout + reset' : ''}`, () => {
            const k = native as NativeAddon;
            const rng = new Lcg(7);
            const cols = columns(core, mechanism, d, C);
            const spec: NativeLayerShape = {
              core,
              mechanism,
              inputSize: n,
              hiddenSize: d,
              downsize: C,
              batch: B,
              steps: T,
            };
            const W = rng.array((n + d) * cols, 1.2);
            const b = rng.array(cols, 1);
            const xs = rng.array(T * B * n, 2);
            const h0 = rng.array(B * d, 1);
            const c0 = rng.array(B * d, 1);
            const reset = withExtras
              ? Float32Array.from({ length: T * B }, (_, i) => (i === 3 ? 1 : 0))
              : null;
            const zc = withExtras ? rng.mask(T * B * d, 0.2) : null;
            const zh = withExtras ? rng.mask(T * B * d, 0.3) : null;
            // L = <R, outputs> + <Rh, h_T> + <Rc, c_T>
            const R = rng.array(T * B * d, 1);
            const Rh = rng.array(B * d, 1);
            const Rc = rng.array(B * d, 1);
            const loss = (): number => {
              const r = k.layerForward(spec, W, b, xs, h0, c0, reset, zc, zh);
              let s = 0;
              for (let i = 0; i < R.length; i++) s += r.outputs[i] * R[i];
              for (let i = 0; i < Rh.length; i++) s += r.h[i] * Rh[i] + (r.c ? r.c[i] * Rc[i] : 0);
              return s;
            };
            const fwd = k.layerForward(spec, W, b, xs, h0, c0, reset, zc, zh);
            const g = k.layerBackward(fwd.tape, W, xs, R, Rh, core === 'lstm' ? Rc : null);
            const grads: [string, Float32Array, Float32Array][] = [
              ['W', W, g.dW],
              ['b', b, g.db],
              ['xs', xs, g.dxs],
              ['h0', h0, g.dh0],
            ];
            if (g.dc0 !== undefined) grads.push(['c0', c0, g.dc0]);
            for (const [name, x, gx] of grads) {
              // central differences in float32 with step 1e-2: truncation and
              // rounding error stay below 1e-3 of the largest derivative.
              let err = 0;
              let scale = 0;
              for (let probe = 0; probe < 10; probe++) {
                const i = rng.index(x.length);
                const old = x[i];
                x[i] = old + 1e-2;
                const up = loss();
                x[i] = old - 1e-2;
                const down = loss();
                x[i] = old;
                const fd = (up - down) / 2e-2;
                err = Math.max(err, Math.abs(fd - gx[i]));
                scale = Math.max(scale, Math.abs(fd));
              }
              expect(err / Math.max(scale, 1e-3), `d${name}`).toBeLessThan(2e-3);
            }
          });
        }
      }
    }
  },
);
