import * as tf from '@tensorflow/tfjs';
import { type Core, MECHANISMS, type Mechanism, resolveLayerConfig } from '@urgate/contract';
import { SeededRandom } from '@urgate/random';
import { gate, refineGate, splitBlocks } from './gate.js';
import { initLayerParams } from './init.js';
import { prepareParams } from './step.js';

/**
 * Initial forget-gate distributions (the paper's Table 4 and Figure 4, at initialisation).
 *
 * What is sampled: a layer is initialised from `seed` (inputSize = hiddenSize unless given),
 * fed one step of inputs x ~ N(0, 1) from the zero state, and the effective forget gate F
 * of every unit is averaged over the batch — the per-unit forget activation of Figure 4.
 * With `inputScale: 0` the inputs are zero and F is the bias-only gate, e.g. σ(b_f).
 * Decay periods are D = 1 / (1 - F).
 */
export interface InitialGateOptions {
  core: Core;
  hiddenSize: number;
  inputSize?: number;
  batch?: number;
  seed?: number;
  downsize?: number;
  tMax?: number;
  inputScale?: number;
}

export interface InitialGateSample {
  mechanism: Mechanism;
  /** Per-unit effective forget activation, length hiddenSize. */
  forget: Float64Array;
  /** Per-unit decay period 1 / (1 - F). */
  decay: Float64Array;
}

export const ANALYSIS_QUANTILES = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] as const;

export interface DistributionSummary {
  mean: number;
  /** Quantiles at ANALYSIS_QUANTILES (linear interpolation between order statistics). */
  quantiles: number[];
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error('quantile: no values');
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  // Decay periods may be infinite (F = 1): never interpolate between equal or infinite ends.
  if (at === lo || sorted[hi] === sorted[lo] || !Number.isFinite(sorted[hi]))
    return at === lo ? sorted[lo] : sorted[hi];
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function summarize(values: ArrayLike<number>): DistributionSummary {
  const sorted = Float64Array.from(values).sort();
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { mean, quantiles: ANALYSIS_QUANTILES.map((q) => quantile(sorted, q)) };
}

/** Per-unit effective forget activations at initialisation for one mechanism. */
export function sampleInitialForget(
  mechanism: Mechanism,
  options: InitialGateOptions,
): InitialGateSample {
  const { core, hiddenSize, batch = 64, seed = 0, inputScale = 1 } = options;
  const cfg = resolveLayerConfig({
    core,
    mechanism,
    hiddenSize,
    inputSize: options.inputSize ?? hiddenSize,
    downsize: options.downsize,
    tMax: options.tMax,
  });
  if (!Number.isInteger(batch) || batch <= 0)
    throw new Error(`batch: expected a positive integer, got ${JSON.stringify(batch)}`);
  if (typeof inputScale !== 'number' || !(inputScale >= 0))
    throw new Error(
      `inputScale: expected a non-negative number, got ${JSON.stringify(inputScale)}`,
    );
  const forget = tf.tidy(() => {
    const params = initLayerParams(cfg, seed);
    const p = prepareParams(cfg, params);
    const rng = new SeededRandom(seed + 1);
    // Box–Muller normals from the seeded generator, so the sample is backend independent.
    const x = Float32Array.from(
      { length: batch * cfg.inputSize },
      () =>
        inputScale * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next()),
    );
    // From the zero state the recurrent rows contribute nothing: a = x·W_x + b.
    const a = tf.tensor2d(x, [batch, cfg.inputSize]).matMul(p.Wx).add(p.bias) as tf.Tensor2D;
    return gate(cfg.mechanism, cfg.core, splitBlocks(a, p.layout), cfg.downsize).forget.mean(0);
  });
  // Clamp float32 rounding (a cumax's last unit can come out as 1 + 1e-7): F = 1 means D = ∞.
  const values = Float64Array.from(forget.dataSync(), (f) => Math.min(1, Math.max(0, f)));
  forget.dispose();
  return { mechanism, forget: values, decay: values.map((f) => 1 / (1 - f)) };
}

export function sampleAllInitialForget(
  options: InitialGateOptions,
  mechanisms: readonly Mechanism[] = MECHANISMS,
): InitialGateSample[] {
  return mechanisms.map((m) => sampleInitialForget(m, options));
}

/** The refine gate g(f, r) on a grid of f for each r (the paper's Figure 2c). */
export function refineGateCurves(
  rs: readonly number[],
  points = 101,
): { r: number; f: number; g: number }[] {
  if (!Number.isInteger(points) || points < 2)
    throw new Error(`points: expected an integer >= 2, got ${JSON.stringify(points)}`);
  for (const r of rs)
    if (!(r >= 0 && r <= 1)) throw new Error(`rs: refine activations must lie in [0, 1], got ${r}`);
  const f = Array.from({ length: points }, (_, k) => k / (points - 1));
  return rs.flatMap((r) => {
    const g = tf.tidy(() =>
      refineGate(tf.tensor2d([f]), tf.fill([1, points], r) as tf.Tensor2D).dataSync(),
    );
    return f.map((fk, k) => ({ r, f: fk, g: g[k] }));
  });
}
