// csrc/adam.cc's Adam in TypeScript, float32 operation by operation: the optimizer of the
// reference engines, which run without the native addon, and a check of the native one.
import type { AdamOptions } from './arena.js';

/**
 * One Adam step over the buffers (params, grads, m, v: one Float32Array each per tensor, in
 * place), the gradients scaled to a global norm of at most clipNorm first; `step` (1-based) sets
 * the bias corrections. Returns the global gradient norm before clipping.
 */
export function adamStepReference(
  params: Float32Array[],
  grads: Float32Array[],
  m: Float32Array[],
  v: Float32Array[],
  options: AdamOptions & { step: number },
): number {
  const f = Math.fround;
  let sq = 0;
  for (const g of grads) {
    let s = 0;
    for (let j = 0; j < g.length; j++) s += g[j] * g[j];
    sq += s;
  }
  const norm = Math.sqrt(sq);
  const clip = f(options.clipNorm ?? 0);
  const scale = clip > 0 && norm > clip ? f(clip / norm) : 1;
  const b1 = f(options.beta1 ?? 0.9);
  const b2 = f(options.beta2 ?? 0.999);
  const c1 = f(1 / (1 - b1 ** options.step));
  const c2 = f(1 / (1 - b2 ** options.step));
  const [lr, eps, a1, a2] = [f(options.lr), f(options.eps ?? 1e-8), f(1 - b1), f(1 - b2)];
  params.forEach((w, k) => {
    const [g, mk, vk] = [grads[k], m[k], v[k]];
    for (let j = 0; j < w.length; j++) {
      const gj = f(g[j] * scale);
      mk[j] = f(b1 * mk[j]) + f(a1 * gj);
      vk[j] = f(b2 * vk[j]) + f(f(a2 * gj) * gj);
      w[j] -= f(f(lr * f(mk[j] * c1)) / f(f(Math.sqrt(f(vk[j] * c2))) + eps));
    }
  });
  return norm;
}
