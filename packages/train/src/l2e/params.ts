// What an l2e model is, whichever engine computes it (no tfjs here): its architecture (the
// contract's L2eArchitecture: its tensor table), its tensors' initial values from the seed in
// the table's order, its untrained constants (the RMC's gate offsets, re-created from the seed
// on every start), and the checkpoint's `model` section.
import {
  type CheckpointTensors,
  glorotUniform,
  initLayerValues,
  initRmcValues,
  L2E_TENSORS,
  type L2eArchitecture,
  l2eConstantShapes,
  l2eCoreWidth,
  l2eTensorShapes,
  layerTensorName,
  type RmcConfig,
  type RmcMechanism,
  resolveRmcConfig,
  stackLayerConfigs,
} from '@urgate/contract';
import { deriveSeed } from '../seeds.js';
import type { L2eRunConfig } from './config.js';

const PURPOSE = { output: 1 } as const;

/** The run's RMC core reading one-hot characters, as given (null: a stack of layers). */
export function l2eRmcConfig(config: L2eRunConfig, vocabSize: number): RmcConfig | null {
  if (config.rmc === null) return null;
  return { inputSize: vocabSize, ...config.rmc, mechanism: config.mechanism as RmcMechanism };
}

/** The run's model: its core (stacked layers, or the RMC) and vocabulary. */
export function l2eArchitecture(config: L2eRunConfig, vocabSize: number): L2eArchitecture {
  const rmc = l2eRmcConfig(config, vocabSize);
  if (rmc !== null) return { vocabSize, layers: [], rmc: resolveRmcConfig(rmc) };
  const layers = stackLayerConfigs({
    core: config.core as 'lstm' | 'gru',
    mechanism: config.mechanism,
    inputSize: vocabSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
  });
  return { vocabSize, layers, rmc: null };
}

/**
 * The initial tensors: `params` in the table's order (l2eTensorShapes), `constants` those of
 * l2eConstantShapes. Layer l from seed + l, the RMC from the seed, the head Glorot-uniform from
 * a derived seed with a zero bias.
 */
export function initL2eTensors(
  config: L2eRunConfig,
  arch: L2eArchitecture,
): { params: CheckpointTensors; constants: CheckpointTensors } {
  const values: CheckpointTensors = arch.rmc ? initRmcValues(arch.rmc, config.seed) : {};
  arch.layers.forEach((cfg, l) => {
    const v = initLayerValues(cfg, config.seed + l);
    values[layerTensorName(l, 'W')] = { shape: [v.rows, v.cols], data: v.W };
    values[layerTensorName(l, 'b')] = { shape: [v.cols], data: v.b };
  });
  const width = l2eCoreWidth(arch);
  const V = arch.vocabSize;
  values[L2E_TENSORS.outputW] = {
    shape: [width, V],
    data: glorotUniform(width, V, deriveSeed(config.seed, PURPOSE.output)),
  };
  values[L2E_TENSORS.outputB] = { shape: [V], data: new Float32Array(V) };
  const pick = (table: { name: string }[]) =>
    Object.fromEntries(table.map((t) => [t.name, values[t.name]]));
  return { params: pick(l2eTensorShapes(arch)), constants: pick(l2eConstantShapes(arch)) };
}

/** LAYOUT.md `model` section of the checkpoint metadata (kind "l2e"). */
export function l2eModelMeta(config: L2eRunConfig, arch: L2eArchitecture): Record<string, unknown> {
  const first = arch.layers[0];
  return {
    kind: 'l2e',
    grammar: config.grammar,
    core: config.core,
    mechanism: config.mechanism,
    vocabSize: arch.vocabSize,
    numLayers: config.numLayers,
    hiddenSize: config.hiddenSize,
    ...(first
      ? { downsize: first.downsize, tMax: first.tMax, fixedGateOffset: first.fixedGateOffset }
      : {}),
    ...(arch.rmc ? { rmc: arch.rmc } : {}),
    zoneout: null,
  };
}
