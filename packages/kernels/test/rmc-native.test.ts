// The C++ RMC kernels (csrc/rmc.cc) against finite differences of their own forward pass:
// independent of @urgate/rmc (whose tfjs reference the op is compared with in
// packages/rmc/test/native.test.ts), it checks that the backward pass is the derivative of
// the forward pass for each gate family and style, with two blocks; and
// that bad arguments are refused with one line naming them.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type NativeAddon, native, nativeLoadError } from '../src/native.js';
import { type RmcKernelWeights, runRmcFused } from '../src/rmc-fused.js';
import type { RmcAddon, RmcKernelShape, RmcNativeShape } from '../src/rmc-native.js';
import { Lcg } from './helpers.js';

const T = 3;
const B = 2;

const BASE: RmcNativeShape = {
  inputSize: 3,
  memSlots: 2,
  headSize: 3,
  numHeads: 2,
  keySize: 2,
  numBlocks: 2,
  mlpLayers: 3,
  gateStyle: 'unit',
  mechanism: '-',
  downsize: 3,
  batch: B,
  steps: T,
};

/** Element counts in csrc/rmc.h's flat order (RmcParamSizes). */
function paramSizes(s: RmcKernelShape): number[] {
  const D = s.headSize * s.numHeads;
  const F = s.numHeads * (2 * s.keySize + s.headSize);
  const g = s.gateStyle === 'unit' ? D : 1;
  const G = 2 * g + (s.mechanism === 'OM-' ? (2 * g) / s.downsize : 0);
  const sizes = [s.inputSize * D, D];
  for (let k = 0; k < s.numBlocks; k++) sizes.push(D * F, F, F, F, D, D, D, D);
  for (let l = 0; l < s.mlpLayers; l++) sizes.push(D * D, D);
  if (s.gateStyle !== 'none') sizes.push(D * G, D * G, G);
  return sizes;
}

// One MLP layer: without ReLUs the loss is smooth, so central differences are exact to
// O(step²); the ReLU layers are covered against the tfjs reference in packages/rmc.
const CASES: Partial<RmcNativeShape>[] = [
  { mechanism: '-', mlpLayers: 1 },
  { mechanism: 'UR-', mlpLayers: 1 },
  { mechanism: 'OM-', mlpLayers: 1 },
  { mechanism: '-', gateStyle: 'memory', mlpLayers: 1 },
  { mechanism: '-', gateStyle: 'none', mlpLayers: 1 },
];

describe.skipIf(native === undefined)(
  `native RMC BPTT vs central differences${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    for (const overrides of CASES) {
      it(JSON.stringify(overrides), () => {
        const k = native as NativeAddon & RmcAddon;
        const spec = { ...BASE, ...overrides };
        const rng = new Lcg(11);
        const D = spec.headSize * spec.numHeads;
        const N = spec.memSlots;
        const weights = paramSizes(spec).map((n) => rng.array(n, 1.6));
        const xs = rng.array(T * B * spec.inputSize, 2);
        const memory0 = rng.array(B * N * D, 1.5);
        const R = rng.array(T * B * N * D, 1);
        const loss = (): number => {
          const out = k.rmcForward(spec, weights, xs, memory0).outputs;
          let s = 0;
          for (let i = 0; i < R.length; i++) s += out[i] * R[i];
          return s;
        };
        const fwd = k.rmcForward(spec, weights, xs, memory0);
        const g = k.rmcBackward(fwd.tape, weights, xs, R);
        const targets: [string, Float32Array, Float32Array][] = [
          ['xs', xs, g.dxs],
          ['memory0', memory0, g.dmemory0],
          ...weights.map((w, i): [string, Float32Array, Float32Array] => [
            `weights[${i}]`,
            w,
            g.grads[i],
          ]),
        ];
        for (const [name, x, gx] of targets) {
          // central differences in float32, up to 6 elements per tensor
          const at = (i: number, v: number): number => {
            const old = x[i];
            x[i] = v;
            const l = loss();
            x[i] = old;
            return l;
          };
          let err = 0;
          let scale = 0;
          for (let probe = 0; probe < Math.min(6, x.length); probe++) {
            const i = rng.index(x.length);
            const h = 1e-2;
            const fd = (at(i, x[i] + h) - at(i, x[i] - h)) / (2 * h);
            err = Math.max(err, Math.abs(fd - gx[i]));
            scale = Math.max(scale, Math.abs(fd));
          }
          expect(err / Math.max(scale, 1e-2), `d ${name}`).toBeLessThan(3e-3);
        }
      });
    }
  },
);

describe.skipIf(native === undefined)(
  `RMC kernel thread split${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    // Large enough that the qkv norms, attention, gates and the qkv recompute are split
    // over two threads (each gets >= 2^20 elements): the result must equal one thread's,
    // whose arithmetic the tests above and packages/rmc check.
    it('two threads give the one-thread outputs and gradients', () => {
      const k = native as NativeAddon & RmcAddon;
      const spec: RmcNativeShape = {
        ...BASE,
        inputSize: 5,
        memSlots: 7,
        headSize: 64,
        numHeads: 4,
        keySize: 64,
        numBlocks: 1,
        mlpLayers: 2,
        mechanism: 'UR-',
        batch: 512,
        steps: 2,
      };
      const rng = new Lcg(5);
      const weights = paramSizes(spec).map((n) => rng.array(n, 0.2));
      const xs = rng.array(spec.steps * spec.batch * spec.inputSize, 2);
      const memory0 = rng.array(spec.batch * spec.memSlots * 256, 1);
      const R = rng.array(spec.steps * spec.batch * spec.memSlots * 256, 1);
      const run = (threads: number) => {
        k.setNumThreads(threads);
        const f = k.rmcForward(spec, weights, xs, memory0);
        const g = k.rmcBackward(f.tape, weights, xs, R);
        return [f.outputs, g.dxs, g.dmemory0, ...g.grads];
      };
      const before = k.numThreads();
      try {
        const one = run(1);
        const two = run(2);
        one.forEach((a, i) => {
          let worst = 0;
          for (let j = 0; j < a.length; j++)
            worst = Math.max(worst, Math.abs(two[i][j] - a[j]) / (1e-5 + 1e-4 * Math.abs(a[j])));
          expect(worst, `array ${i}`).toBeLessThanOrEqual(1);
        });
      } finally {
        k.setNumThreads(before);
      }
    });
  },
);

describe.skipIf(native === undefined)(
  `RMC kernel bad input${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    const k = native as NativeAddon & RmcAddon;
    const spec = { ...BASE };
    const D = spec.headSize * spec.numHeads;
    const good = () => paramSizes(spec).map((n) => new Float32Array(n));
    const xs = new Float32Array(T * B * spec.inputSize);
    const m0 = new Float32Array(B * spec.memSlots * D);

    it('rmcForward: refuses uncovered or invalid specs with one line naming the field', () => {
      expect(() => k.rmcForward({ ...spec, mechanism: 'O-' as '-' }, good(), xs, m0)).toThrow(
        /^spec\.mechanism: the RMC kernel covers '-', 'C-', 'OM-', 'U-', 'UR-', got 'O-'$/,
      );
      expect(() => k.rmcForward({ ...spec, keySize: 0 }, good(), xs, m0)).toThrow(
        /^spec\.keySize: expected a positive integer, got 0$/,
      );
      expect(() => k.rmcForward({ ...spec, gateStyle: 'slot' as 'unit' }, good(), xs, m0)).toThrow(
        /^spec\.gateStyle: expected 'unit', 'memory' or 'none', got 'slot'$/,
      );
      expect(() =>
        k.rmcForward({ ...spec, mechanism: 'OM-', downsize: 4 }, good(), xs, m0),
      ).toThrow(/^spec\.downsize: must divide the gate size 6, got 4$/);
      expect(() =>
        k.rmcForward({ ...spec, mechanism: 'UR-', gateStyle: 'none' }, good(), xs, m0),
      ).toThrow(/^spec\.gateStyle:/);
    });

    it('rmcForward / rmcBackward: array counts, lengths and types name the argument; a used tape is refused', () => {
      expect(() => k.rmcForward(spec, good().slice(1), xs, m0)).toThrow(
        /^weights: expected 27 arrays for this spec, got 26$/,
      );
      const w = good();
      w[3] = new Float32Array(5);
      expect(() => k.rmcForward(spec, w, xs, m0)).toThrow(
        /^weights\[3\]: expected 14 float32 values, got 5$/,
      );
      expect(() => k.rmcForward(spec, good(), xs, new Float64Array(m0.length) as never)).toThrow(
        TypeError,
      );
      const f = k.rmcForward(spec, good(), xs, m0);
      expect(() => k.rmcBackward(f.tape, good(), xs, new Float32Array(3))).toThrow(
        /^dOutputs: expected 72 float32 values, got 3$/,
      );
      k.rmcBackward(f.tape, good(), xs, new Float32Array(T * B * spec.memSlots * D));
      expect(() =>
        k.rmcBackward(f.tape, good(), xs, new Float32Array(T * B * spec.memSlots * D)),
      ).toThrow(/already used/);
      expect(() => k.rmcBackward({} as never, good(), xs, new Float32Array(1))).toThrow(/^tape:/);
    });

    it('runRmcFused: tensor shapes are checked before any native work, naming the weight', () => {
      const kspec: RmcKernelShape = { ...spec };
      const t = (shape: number[]) => tf.zeros(shape);
      const F = spec.numHeads * (2 * spec.keySize + spec.headSize);
      const block = () => ({
        qkvW: t([D, F]),
        qkvB: t([F]),
        qkvGamma: t([F]),
        qkvBeta: t([F]),
        attentionGamma: t([D]),
        attentionBeta: t([D]),
        mlpGamma: t([D]),
        mlpBeta: t([D]),
      });
      const weights: RmcKernelWeights = {
        inputW: t([spec.inputSize, D]),
        inputB: t([D]),
        blocks: [block(), block()],
        mlp: [0, 1, 2].map(() => ({ W: t([D, D]), b: t([D]) })),
        gate: { memoryW: t([D, 2 * D]), inputW: t([D, 2 * D]), bias: t([2 * D]) },
      };
      const xsT = t([T, B, spec.inputSize]) as tf.Tensor3D;
      const m0T = t([B, spec.memSlots, D]) as tf.Tensor3D;
      expect(runRmcFused(kspec, weights, xsT, m0T).outputs.shape).toEqual([
        T,
        B,
        spec.memSlots * D,
      ]);
      weights.blocks[1].qkvW = t([D, F + 1]);
      expect(() => runRmcFused(kspec, weights, xsT, m0T)).toThrow(
        `weights.blocks[1].qkvW: expected shape [${D},${F}], got [${D},${F + 1}]`,
      );
      expect(() => runRmcFused(kspec, { ...weights, mlp: [] }, xsT, m0T)).toThrow(
        'weights.mlp: expected 3 layers (spec.mlpLayers)',
      );
      expect(() => runRmcFused(kspec, weights, xsT, t([B, 1, D]) as tf.Tensor3D)).toThrow(
        `memory0: expected shape [${B},${spec.memSlots},${D}], got [${B},1,${D}]`,
      );
    });
  },
);
