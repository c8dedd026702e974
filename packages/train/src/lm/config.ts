import { type Core, type Mechanism, parseCore, parseMechanism } from '@urgate/contract';
import { type Engine, parseEngine } from '../engine.js';

/** Hyperparameters of one language-model run (stored as `training.config` in its checkpoints). */
export interface LmConfig {
  mechanism: Mechanism;
  core: Core;
  hiddenSize: number;
  numLayers: number;
  /** Embedding size E; with tied embeddings it must equal hiddenSize. */
  embeddingSize: number;
  bptt: number;
  batchSize: number;
  lr: number;
  /** Global-norm gradient clipping (paper: 0.1). */
  clip: number;
  /** Dropout on the embeddings and on the last layer's output (training only). */
  dropout: number;
  layerNorm: boolean;
  tiedEmbeddings: boolean;
  /** Adaptive softmax cutoffs over the frequency-sorted vocabulary (null: full softmax). */
  adaptiveSoftmax: number[] | null;
  /** Adaptive softmax: cluster i's projection has hiddenSize / tailDiv^(i+1) units. */
  tailDiv: number;
  /** Stop after this many optimizer steps (null: no step limit). */
  steps: number | null;
  /** Stop after this many minutes of training (null: no time limit). */
  minutes: number | null;
  /** Validation every this many steps (and at the end). */
  evalEvery: number;
  /** Training-state checkpoint every this many steps (and at the end). */
  checkpointEvery: number;
  /** Master-gate downsize C of OM-/UM- (null: the cells' default, 16; the paper's LMs use 32). */
  downsize: number | null;
  /** Chrono horizon Tmax of C- (null: the hidden size). */
  tMax: number | null;
  seed: number;
  /** Which implementation computes the model (engine.ts); a resumed run may change it. */
  engine: Engine;
}

export type LmConfigInput = Partial<Omit<LmConfig, 'mechanism' | 'core' | 'engine'>> & {
  mechanism?: Mechanism | string;
  core?: Core | string;
  engine?: Engine | string;
};

const DEFAULTS = {
  mechanism: 'UR-',
  core: 'lstm',
  hiddenSize: 256,
  numLayers: 1,
  bptt: 64,
  batchSize: 32,
  lr: 1e-3,
  clip: 0.1,
  dropout: 0.1,
  layerNorm: false,
  tiedEmbeddings: true,
  adaptiveSoftmax: null,
  tailDiv: 4,
  steps: null,
  minutes: null,
  evalEvery: 500,
  checkpointEvery: 200,
  downsize: null,
  tMax: null,
  seed: 1,
  engine: 'native',
} as const;

function check(ok: boolean, name: string, expected: string, got: unknown): void {
  if (!ok) throw new Error(`${name}: expected ${expected}, got ${JSON.stringify(got)}`);
}

const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

/** Fills defaults and validates every field; throws one line naming the field. */
export function resolveLmConfig(input: LmConfigInput): LmConfig {
  const c = { ...DEFAULTS, ...input } as Record<string, unknown>;
  const hiddenSize = c.hiddenSize as number;
  const config: LmConfig = {
    ...(c as unknown as LmConfig),
    mechanism: parseMechanism(String(c.mechanism)),
    core: parseCore(String(c.core)),
    embeddingSize: (c.embeddingSize as number | undefined) ?? hiddenSize,
    engine: parseEngine(c.engine),
  };
  for (const key of [
    'hiddenSize',
    'numLayers',
    'embeddingSize',
    'bptt',
    'batchSize',
    'evalEvery',
    'checkpointEvery',
  ] as const)
    check(positiveInt(config[key]), key, 'a positive integer', config[key]);
  check(Number.isInteger(config.seed), 'seed', 'an integer', config.seed);
  check(
    config.downsize === null || positiveInt(config.downsize),
    'downsize',
    'a positive integer',
    config.downsize,
  );
  check(config.tMax === null || config.tMax > 0, 'tMax', 'a positive number', config.tMax);
  check(
    config.adaptiveSoftmax === null ||
      (Array.isArray(config.adaptiveSoftmax) &&
        config.adaptiveSoftmax.length > 0 &&
        config.adaptiveSoftmax.every((c, i, all) => positiveInt(c) && (i === 0 || c > all[i - 1]))),
    'adaptiveSoftmax',
    'strictly increasing positive cutoffs',
    config.adaptiveSoftmax,
  );
  check(config.tailDiv >= 1, 'tailDiv', 'a number >= 1', config.tailDiv);
  check(config.lr > 0 && Number.isFinite(config.lr), 'lr', 'a positive number', config.lr);
  check(config.clip > 0 && Number.isFinite(config.clip), 'clip', 'a positive number', config.clip);
  check(config.dropout >= 0 && config.dropout < 1, 'dropout', 'a rate in [0, 1)', config.dropout);
  check(
    config.steps === null || positiveInt(config.steps),
    'steps',
    'a positive integer',
    config.steps,
  );
  check(
    config.minutes === null || config.minutes > 0,
    'minutes',
    'a positive number',
    config.minutes,
  );
  check(
    config.steps !== null || config.minutes !== null,
    'steps/minutes',
    'at least one budget',
    null,
  );
  if (config.tiedEmbeddings && config.embeddingSize !== hiddenSize)
    throw new Error(
      `embeddingSize: tied embeddings need embeddingSize = hiddenSize (${hiddenSize}), got ${config.embeddingSize}`,
    );
  return config;
}
