// The reference engines' Adam (adamStepReference, TypeScript, float32 op by op) against the
// native one (csrc/adam.h) over the same arenas for several steps, with and without clipping: the
// same gradient norms and, to float32 rounding, the same parameters and moments. Not bit for bit:
// the native loop's x86-64-v3 clone may fuse its multiply-adds (FMA), which plain JavaScript
// arithmetic does not.
import { describe, expect, it } from 'vitest';
import { arenaView, ParamArenas } from '../src/arena.js';
import { nativeAvailable } from '../src/native.js';
import { Lcg } from './helpers.js';

const table = [
  { name: 'W', shape: [37, 52] },
  { name: 'b', shape: [52] },
  { name: 'head', shape: [3, 1] },
];

/**
 * Worst |a - ref| over an arena in units of 1e-6 of its largest |ref| (a few float32 ulps at the
 * arena's scale; a moment that nearly cancels keeps the absolute error of its terms): <= 1 passes.
 */
function worst(actual: Float32Array, ref: Float32Array): number {
  const scale = 1e-6 * ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  return actual.reduce((w, x, i) => Math.max(w, Math.abs(x - ref[i]) / scale), 0);
}

describe.skipIf(!nativeAvailable)('adamStepReference', () => {
  for (const options of [
    { lr: 1e-3, clipNorm: 0 },
    { lr: 3e-2, clipNorm: 0.5, beta1: 0.8, beta2: 0.99, eps: 1e-6 },
  ])
    it(`equals the native Adam to float32 rounding over 6 steps (${JSON.stringify(options)})`, () => {
      const rng = new Lcg(11);
      const native = new ParamArenas(table, 'native');
      const reference = new ParamArenas(table, 'reference');
      const start = rng.array(native.params.length, 2);
      native.params.set(start);
      reference.params.set(start);
      for (let step = 1; step <= 6; step++) {
        const grads = rng.array(native.grads.length, 4);
        native.grads.set(grads);
        reference.grads.set(grads);
        const norm = native.adamUpdate(options);
        expect(reference.adamUpdate(options)).toBeCloseTo(norm, 10);
        for (const kind of ['params', 'm', 'v'] as const)
          expect(worst(reference[kind], native[kind]), `${kind}, step ${step}`).toBeLessThanOrEqual(
            1,
          );
      }
      expect(reference.adamSteps).toBe(6);
      // the parameters moved by more than the bound: the check is not of two untouched arenas
      expect(worst(arenaView(reference, 'W'), start.subarray(0, 37 * 52))).toBeGreaterThan(100);
    });
});
