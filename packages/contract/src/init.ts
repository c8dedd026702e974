// Initial parameter values of a layer (LAYOUT.md "Initialisation") as plain arrays, so that the
// reference cells (as tensors) and the native models (into their arenas) start from the same values.
import { SeededRandom } from '@urgate/random';
import { type LayerConfig, type ResolvedLayerConfig, resolveLayerConfig } from './config.js';
import { type BlockName, layerLayout } from './layout.js';
import { hasRefineGate, MECHANISM_TABLE } from './mechanisms.js';

export const STANDARD_FORGET_BIAS = 1.0;

/** σ⁻¹(u) = log(u / (1 - u)). */
export function logit(u: number): number {
  return Math.log(u / (1 - u));
}

/** Uniform gate initialisation: σ⁻¹(u), u ~ U[1/size, 1 - 1/size] (paper eq. 9). */
function uniformGateBias(rng: SeededRandom, size: number): number {
  return logit(rng.uniform(1 / size, 1 - 1 / size));
}

/** Initial values of the gate biases of one layer, per block and unit (LAYOUT.md "Initialisation"). */
export interface GateBiasInit {
  /** Block values that go to the trainable bias b. */
  trainable: Partial<Record<BlockName, Float64Array>>;
  /** UGI values, which go to bOffset instead of b when fixedGateOffset is set. */
  uniform: Partial<Record<BlockName, Float64Array>>;
}

function perUnit(size: number, draw: () => number): Float64Array {
  return Float64Array.from({ length: size }, draw);
}

function negate(values: Float64Array): Float64Array {
  return values.map((v) => -v);
}

export function gateBiasInit(cfg: ResolvedLayerConfig, rng: SeededRandom): GateBiasInit {
  const d = cfg.hiddenSize;
  const m = d / cfg.downsize;
  const lstm = cfg.core === 'lstm';
  const constant = (value: number) => new Float64Array(d).fill(value);
  switch (MECHANISM_TABLE[cfg.mechanism].init) {
    case 'standard':
      return { trainable: { f: constant(STANDARD_FORGET_BIAS) }, uniform: {} };
    case 'zero':
      return { trainable: {}, uniform: {} };
    case 'chrono': {
      const f = perUnit(d, () => Math.log(rng.uniform(1, cfg.tMax - 1)));
      return { trainable: lstm ? { f, i: negate(f) } : { f }, uniform: {} };
    }
    case 'uniform': {
      if (d < 2)
        throw new Error(
          `hiddenSize: uniform gate initialisation ('${cfg.mechanism}') needs hiddenSize >= 2, got ${d}`,
        );
      const f = perUnit(d, () => uniformGateBias(rng, d));
      const tied: BlockName | undefined = hasRefineGate(cfg.mechanism)
        ? 'r'
        : lstm
          ? 'i'
          : undefined;
      return { trainable: {}, uniform: tied === undefined ? { f } : { f, [tied]: negate(f) } };
    }
    case 'uniformMaster': {
      // m >= 2: resolveLayerConfig refuses fewer master units.
      const mf = perUnit(m, () => uniformGateBias(rng, m));
      return { trainable: { f: constant(STANDARD_FORGET_BIAS) }, uniform: { mf, mi: negate(mf) } };
    }
  }
}

/** One layer's initial values: W [inputSize + hiddenSize, cols], b [cols], bOffset with fixedGateOffset. */
export interface LayerValues {
  rows: number;
  cols: number;
  W: Float32Array;
  b: Float32Array;
  bOffset?: Float32Array;
}

/** Glorot-uniform W over its full shape and the mechanism's bias initialisation, from one seed. */
export function initLayerValues(cfg: LayerConfig, seed: number): LayerValues {
  const r = resolveLayerConfig(cfg);
  const rng = new SeededRandom(seed);
  const layout = layerLayout(r);
  const rows = r.inputSize + r.hiddenSize;
  const limit = Math.sqrt(6 / (rows + layout.cols));
  const W = new Float32Array(rows * layout.cols);
  for (let k = 0; k < W.length; k++) W[k] = rng.uniform(-limit, limit);

  const init = gateBiasInit(r, rng);
  const b = new Float32Array(layout.cols);
  const offset = new Float32Array(layout.cols);
  for (const blk of layout.blocks) {
    const trainable = init.trainable[blk.name];
    const uniform = init.uniform[blk.name];
    if (trainable !== undefined) b.set(trainable, blk.offset);
    if (uniform !== undefined) (r.fixedGateOffset ? offset : b).set(uniform, blk.offset);
  }
  return { rows, cols: layout.cols, W, b, ...(r.fixedGateOffset ? { bOffset: offset } : {}) };
}

/** A [fanIn, fanOut] weight drawn Glorot-uniform from its own seed (the trainers' dense heads). */
export function glorotUniform(fanIn: number, fanOut: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Float32Array.from({ length: fanIn * fanOut }, () => rng.uniform(-limit, limit));
}

/** The layers of a stack: layer l > 0 reads layer l-1's h (its inputSize is hiddenSize). */
export function stackLayerConfigs(cfg: LayerConfig & { numLayers: number }): ResolvedLayerConfig[] {
  if (!Number.isInteger(cfg?.numLayers) || cfg.numLayers <= 0)
    throw new Error(
      `numLayers: expected a positive integer, got ${JSON.stringify(cfg?.numLayers)}`,
    );
  const first = resolveLayerConfig(cfg);
  return Array.from({ length: cfg.numLayers }, (_, l) =>
    l === 0 ? first : resolveLayerConfig({ ...first, inputSize: first.hiddenSize }),
  );
}
