// Initial values of the Relational Memory Core's tensors (packages/rmc README "Parameters") and
// its initial memory as plain arrays, so that the tfjs core (as tensors) and the native models
// (into their arenas) start from the same values.
import { SeededRandom } from '@urgate/random';
import { resolveLayerConfig } from './config.js';
import { gateBiasInit } from './init.js';
import { gateBlocks, type ParamSpec, type ResolvedRmcConfig, rmcParamLayout } from './rmc.js';
import type { CheckpointTensors } from './safetensors.js';

/** Standard normal truncated to ±2 (redrawn outside), as tf.truncated_normal_initializer. */
function truncatedNormal(rng: SeededRandom): number {
  for (;;) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const z = radius * Math.cos(2 * Math.PI * rng.next());
    if (Math.abs(z) <= 2) return z;
  }
}

/**
 * Fixed offsets added to the gate pre-activations. '-' and 'OM-' use Sonnet's constant
 * forget/input biases; 'C-', 'U-', 'UR-' take their per-unit values from the cells
 * initialisation (LAYOUT.md "Initialisation"), drawn for a layer of gateSize units. Because
 * the gate linears' own biases are trainable and start at zero, a fixed offset trains exactly
 * like a trainable bias initialised to it.
 */
function gateOffsets(cfg: ResolvedRmcConfig, rng: SeededRandom): Float32Array {
  const { cols, blocks } = gateBlocks(cfg);
  const init = gateBiasInit(
    resolveLayerConfig({
      core: 'lstm',
      mechanism: cfg.mechanism,
      inputSize: cfg.inputSize,
      hiddenSize: cfg.gateSize,
      downsize: cfg.downsize,
      tMax: cfg.tMax,
    }),
    rng,
  );
  const values: Partial<Record<string, ArrayLike<number>>> = { ...init.trainable, ...init.uniform };
  if (cfg.mechanism === '-' || cfg.mechanism === 'OM-') {
    values.f = new Float64Array(cfg.gateSize).fill(cfg.forgetBias);
    values.i = new Float64Array(cfg.gateSize).fill(cfg.inputBias);
  }
  const offsets = new Float32Array(cols);
  for (const blk of blocks) {
    const v = values[blk.name];
    if (v !== undefined) offsets.set(v, blk.offset);
  }
  return offsets;
}

function initialValues(cfg: ResolvedRmcConfig, spec: ParamSpec, rng: SeededRandom): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  switch (spec.init) {
    case 'zeros':
      return new Float32Array(size);
    case 'ones':
      return new Float32Array(size).fill(1);
    case 'gateOffset':
      return gateOffsets(cfg, rng);
    case 'linear': {
      const stddev = 1 / Math.sqrt(spec.shape[0]);
      return Float32Array.from({ length: size }, () => stddev * truncatedNormal(rng));
    }
  }
}

/** Every tensor of the core (rmcParamLayout's order, gate offsets included) from one seed. */
export function initRmcValues(r: ResolvedRmcConfig, seed: number): CheckpointTensors {
  const rng = new SeededRandom(seed);
  const values: CheckpointTensors = {};
  for (const spec of rmcParamLayout(r))
    values[spec.name] = { shape: [...spec.shape], data: initialValues(r, spec, rng) };
  return values;
}

/** Identity per batch element (N × N), zero-padded or cut to memSize columns: [B, N, memSize]. */
export function initialMemoryValues(r: ResolvedRmcConfig, batch: number): Float32Array {
  if (!Number.isInteger(batch) || batch <= 0)
    throw new Error(`batch: expected a positive integer, got ${JSON.stringify(batch)}`);
  const N = r.memSlots;
  const D = r.memSize;
  const values = new Float32Array(batch * N * D);
  for (let b = 0; b < batch; b++)
    for (let s = 0; s < Math.min(N, D); s++) values[(b * N + s) * D + s] = 1;
  return values;
}
