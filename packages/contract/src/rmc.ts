// The Relational Memory Core's configuration and parameter layout (packages/rmc README
// "Parameters"): the one table the tfjs core, its native bindings and the ONNX exporter read.
import type { BlockName } from './layout.js';
import { isMechanism, type Mechanism } from './mechanisms.js';

/** `unit`: one gate per memory unit; `memory`: one gate per slot; `none`: no gating. */
export type GateStyle = 'unit' | 'memory' | 'none';
export const GATE_STYLES: readonly GateStyle[] = ['unit', 'memory', 'none'];

/** The mechanisms the UR-LSTM paper applies to the RMC's input/forget gate pair. */
export type RmcMechanism = Extract<Mechanism, '-' | 'C-' | 'OM-' | 'U-' | 'UR-'>;
export const RMC_MECHANISMS: readonly RmcMechanism[] = ['-', 'C-', 'OM-', 'U-', 'UR-'];

export interface RmcConfig {
  /** Width of the input vectors x_t. */
  inputSize: number;
  /** Number of memory slots N. */
  memSlots: number;
  headSize: number;
  numHeads: number;
  /** Attention blocks per step (default 1). */
  numBlocks?: number;
  /** Query/key width per head (default headSize). */
  keySize?: number;
  /** Linear layers of the shared attention MLP (default 2). */
  attentionMlpLayers?: number;
  /** Default 'unit'. */
  gateStyle?: GateStyle;
  /** Gate mechanism on the input/forget pair (default '-'). */
  mechanism?: RmcMechanism;
  /** Constant added to the forget pre-activation (default 1.0; '-' and 'OM-' only). */
  forgetBias?: number;
  /** Constant added to the input pre-activation (default 0.0; '-' and 'OM-' only). */
  inputBias?: number;
  /** Master downsize factor C for 'OM-' (default 16). */
  downsize?: number;
  /** Chrono horizon for 'C-' (default memSize). */
  tMax?: number;
}

export interface ResolvedRmcConfig extends Required<RmcConfig> {
  /** headSize · numHeads: the width of each memory slot. */
  memSize: number;
  /** Gates per slot: memSize ('unit'), 1 ('memory') or 0 ('none'). */
  gateSize: number;
}

export const DEFAULT_FORGET_BIAS = 1.0;
export const DEFAULT_INPUT_BIAS = 0.0;
export const DEFAULT_RMC_DOWNSIZE = 16;

function positiveInteger(value: unknown, argName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new Error(`${argName}: expected a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function finiteNumber(value: unknown, argName: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new Error(`${argName}: expected a finite number, got ${JSON.stringify(value)}`);
  return value;
}

function resolveMechanism(value: unknown): RmcMechanism {
  const supported = RMC_MECHANISMS.map((m) => `'${m}'`).join(', ');
  if (isMechanism(value) && !(RMC_MECHANISMS as readonly string[]).includes(value))
    throw new Error(
      `mechanism: '${value}' is not supported on the RMC; the UR-LSTM paper applies ${supported} to its input/forget gates`,
    );
  if (!isMechanism(value))
    throw new Error(
      `mechanism: unknown gate mechanism ${JSON.stringify(value)}; expected one of ${supported}`,
    );
  return value as RmcMechanism;
}

/** Fills defaults and validates every field; throws a one-line error naming the field. */
export function resolveRmcConfig(cfg: RmcConfig): ResolvedRmcConfig {
  if (cfg === null || typeof cfg !== 'object')
    throw new Error(`rmc config: expected an object, got ${JSON.stringify(cfg)}`);
  const inputSize = positiveInteger(cfg.inputSize, 'inputSize');
  const memSlots = positiveInteger(cfg.memSlots, 'memSlots');
  const headSize = positiveInteger(cfg.headSize, 'headSize');
  const numHeads = positiveInteger(cfg.numHeads, 'numHeads');
  const numBlocks = positiveInteger(cfg.numBlocks ?? 1, 'numBlocks');
  const keySize = positiveInteger(cfg.keySize ?? headSize, 'keySize');
  const attentionMlpLayers = positiveInteger(cfg.attentionMlpLayers ?? 2, 'attentionMlpLayers');
  const gateStyle = cfg.gateStyle ?? 'unit';
  if (!GATE_STYLES.includes(gateStyle))
    throw new Error(
      `gateStyle: unknown gate style ${JSON.stringify(gateStyle)}; expected one of ${GATE_STYLES.map((s) => `'${s}'`).join(', ')}`,
    );
  const mechanism = resolveMechanism(cfg.mechanism ?? '-');
  const memSize = headSize * numHeads;
  const gateSize = gateStyle === 'unit' ? memSize : gateStyle === 'memory' ? 1 : 0;

  if (gateStyle === 'none' && mechanism !== '-')
    throw new Error(
      `mechanism: gateStyle 'none' has no gates, so mechanism '${mechanism}' cannot apply; use '-' or a gated style`,
    );
  const constantBiases = mechanism === '-' || mechanism === 'OM-';
  if (!constantBiases && (cfg.forgetBias !== undefined || cfg.inputBias !== undefined))
    throw new Error(
      `${cfg.forgetBias !== undefined ? 'forgetBias' : 'inputBias'}: mechanism '${mechanism}' initialises the gate biases itself; forgetBias/inputBias apply to '-' and 'OM-' only`,
    );
  const forgetBias = finiteNumber(cfg.forgetBias ?? DEFAULT_FORGET_BIAS, 'forgetBias');
  const inputBias = finiteNumber(cfg.inputBias ?? DEFAULT_INPUT_BIAS, 'inputBias');

  if ((mechanism === 'U-' || mechanism === 'UR-') && gateSize < 2)
    throw new Error(
      `gateStyle: uniform gate initialisation ('${mechanism}') draws biases from U[1/d, 1-1/d] and needs at least 2 gates per slot; use gateStyle 'unit' with memSize >= 2`,
    );
  const downsize = positiveInteger(cfg.downsize ?? DEFAULT_RMC_DOWNSIZE, 'downsize');
  if (mechanism === 'OM-') {
    if (gateStyle !== 'unit')
      throw new Error(
        `gateStyle: 'OM-' orders its master gates over the units of a slot and needs gateStyle 'unit', got '${gateStyle}'`,
      );
    if (memSize % downsize !== 0)
      throw new Error(
        `downsize: ${downsize} does not divide memSize ${memSize} (headSize · numHeads); 'OM-' needs memSize to be a multiple of downsize`,
      );
  }
  const tMax = cfg.tMax ?? memSize;
  if (typeof tMax !== 'number' || !Number.isFinite(tMax) || tMax <= 0)
    throw new Error(`tMax: expected a positive number, got ${JSON.stringify(cfg.tMax)}`);
  if (mechanism === 'C-' && tMax < 3)
    throw new Error(
      `tMax: chrono initialisation ('C-') needs tMax >= 3, got ${tMax}${cfg.tMax === undefined ? ' (defaulted to memSize)' : ''}`,
    );

  return {
    inputSize,
    memSlots,
    headSize,
    numHeads,
    numBlocks,
    keySize,
    attentionMlpLayers,
    gateStyle,
    mechanism,
    forgetBias,
    inputBias,
    downsize,
    tMax,
    memSize,
    gateSize,
  };
}

/**
 * How a parameter starts: `linear` is Sonnet v1's Linear initialiser (truncated normal,
 * σ = 1/√fanIn), `gateOffset` the mechanism's fixed gate-bias offsets.
 */
export type ParamInit = 'linear' | 'zeros' | 'ones' | 'gateOffset';

export interface ParamSpec {
  name: string;
  shape: number[];
  trainable: boolean;
  init: ParamInit;
}

export interface GateBlock {
  name: BlockName;
  offset: number;
  width: number;
}

/**
 * Column blocks of the gate pre-activations, in Sonnet's order (input gate first, then
 * forget), each `gateSize` wide; 'UR-' puts its refine gate r in the input gate's place and
 * 'OM-' appends its master gates, `gateSize / downsize` wide.
 */
export function gateBlocks(cfg: ResolvedRmcConfig): { cols: number; blocks: GateBlock[] } {
  const g = cfg.gateSize;
  const widths: [BlockName, number][] =
    cfg.mechanism === 'UR-'
      ? [
          ['r', g],
          ['f', g],
        ]
      : cfg.mechanism === 'OM-'
        ? [
            ['i', g],
            ['f', g],
            ['mf', g / cfg.downsize],
            ['mi', g / cfg.downsize],
          ]
        : [
            ['i', g],
            ['f', g],
          ];
  const blocks: GateBlock[] = [];
  let offset = 0;
  for (const [name, width] of widths) {
    blocks.push({ name, offset, width });
    offset += width;
  }
  return { cols: offset, blocks };
}

/** Every parameter tensor of the core, in a fixed order (the order initialisation draws in). */
export function rmcParamLayout(cfg: ResolvedRmcConfig): ParamSpec[] {
  const D = cfg.memSize;
  const F = cfg.numHeads * (2 * cfg.keySize + cfg.headSize);
  const specs: ParamSpec[] = [];
  const weight = (name: string, rows: number, cols: number) =>
    specs.push({ name, shape: [rows, cols], trainable: true, init: 'linear' });
  const vector = (name: string, width: number, init: ParamInit, trainable = true) =>
    specs.push({ name, shape: [width], trainable, init });

  weight('input.W', cfg.inputSize, D);
  vector('input.b', D, 'zeros');
  for (let k = 0; k < cfg.numBlocks; k++) {
    weight(`blocks.${k}.qkv.W`, D, F);
    vector(`blocks.${k}.qkv.b`, F, 'zeros');
    vector(`blocks.${k}.qkvNorm.gamma`, F, 'ones');
    vector(`blocks.${k}.qkvNorm.beta`, F, 'zeros');
    vector(`blocks.${k}.attentionNorm.gamma`, D, 'ones');
    vector(`blocks.${k}.attentionNorm.beta`, D, 'zeros');
    vector(`blocks.${k}.mlpNorm.gamma`, D, 'ones');
    vector(`blocks.${k}.mlpNorm.beta`, D, 'zeros');
  }
  for (let l = 0; l < cfg.attentionMlpLayers; l++) {
    weight(`mlp.${l}.W`, D, D);
    vector(`mlp.${l}.b`, D, 'zeros');
  }
  if (cfg.gateStyle !== 'none') {
    const { cols } = gateBlocks(cfg);
    weight('gate.memory.W', D, cols);
    vector('gate.memory.b', cols, 'zeros');
    weight('gate.input.W', D, cols);
    vector('gate.input.b', cols, 'zeros');
    vector('gate.offset', cols, 'gateOffset', false);
  }
  return specs;
}
