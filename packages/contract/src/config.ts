import {
  CORES,
  type Core,
  hasMasterGates,
  isCore,
  isMechanism,
  MECHANISM_TABLE,
  MECHANISMS,
  type Mechanism,
} from './mechanisms.js';

export interface LayerConfig {
  core: Core;
  mechanism: Mechanism;
  inputSize: number;
  hiddenSize: number;
  /** Master downsize factor C for OM-/UM- (default 16). */
  downsize?: number;
  /** Chrono horizon Tmax (default hiddenSize). */
  tMax?: number;
  /** UGI bias kept as a fixed, untrained offset (default false). */
  fixedGateOffset?: boolean;
}
export type ResolvedLayerConfig = Required<LayerConfig>;

export const DEFAULT_DOWNSIZE = 16;

function positiveInteger(value: unknown, argName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`${argName}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Fills defaults and validates every field; throws a one-line error naming the field. */
export function resolveLayerConfig(cfg: LayerConfig): ResolvedLayerConfig {
  if (cfg === null || typeof cfg !== 'object')
    throw new Error(`layer config: expected an object, got ${JSON.stringify(cfg)}`);
  if (!isCore(cfg.core)) {
    throw new Error(
      `core: unknown core ${JSON.stringify(cfg.core)}; expected one of ${CORES.map((c) => `'${c}'`).join(', ')}`,
    );
  }
  if (!isMechanism(cfg.mechanism)) {
    throw new Error(
      `mechanism: unknown gate mechanism ${JSON.stringify(cfg.mechanism)}; expected one of ${MECHANISMS.map((m) => `'${m}'`).join(', ')}`,
    );
  }
  const inputSize = positiveInteger(cfg.inputSize, 'inputSize');
  const hiddenSize = positiveInteger(cfg.hiddenSize, 'hiddenSize');
  const downsize = positiveInteger(cfg.downsize ?? DEFAULT_DOWNSIZE, 'downsize');
  if (hasMasterGates(cfg.mechanism) && hiddenSize % downsize !== 0) {
    throw new Error(
      `downsize: ${downsize} does not divide hiddenSize ${hiddenSize}; mechanism '${cfg.mechanism}' needs hiddenSize to be a multiple of downsize`,
    );
  }
  const masters = hiddenSize / downsize;
  if (MECHANISM_TABLE[cfg.mechanism].init === 'uniformMaster' && masters < 2)
    // Refused here rather than at initialisation, so that a sweep's plan, the kernels and the
    // exporter refuse it before any work.
    throw new Error(
      `downsize: '${cfg.mechanism}' initialises its ${masters} master unit(s) uniformly on [1/m, 1-1/m] and needs hiddenSize/downsize >= 2`,
    );
  const tMax = cfg.tMax ?? hiddenSize;
  if (typeof tMax !== 'number' || !Number.isFinite(tMax) || tMax <= 0) {
    throw new Error(`tMax: expected a positive number, got ${JSON.stringify(cfg.tMax)}`);
  }
  if (cfg.mechanism === 'C-' && tMax < 3) {
    throw new Error(
      `tMax: chrono initialisation ('C-') needs tMax >= 3, got ${tMax}${cfg.tMax === undefined ? ' (defaulted to hiddenSize)' : ''}`,
    );
  }
  const fixedGateOffset = cfg.fixedGateOffset ?? false;
  if (typeof fixedGateOffset !== 'boolean') {
    throw new Error(
      `fixedGateOffset: expected true or false, got ${JSON.stringify(cfg.fixedGateOffset)}`,
    );
  }
  return {
    core: cfg.core,
    mechanism: cfg.mechanism,
    inputSize,
    hiddenSize,
    downsize,
    tMax,
    fixedGateOffset,
  };
}
