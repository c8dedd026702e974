// Settings of a Learning-to-Execute run (program evaluation, the UR-LSTM paper's appendix
// E.3 after Santoro et al. 2018). Every field is checked here, before any work, with one line
// naming the command-line flag and the allowed values.
import { type Core, type Mechanism, parseMechanism, RMC_MECHANISMS } from '@urgate/contract';
import {
  DEEPMIND_CURRICULA,
  DEEPMIND_MAX_LENGTH,
  DEEPMIND_TASKS,
  type DeepMindCurriculumKind,
  type DeepMindTask,
  isMemoryTask,
  ZAREMBA_CURRICULA,
  ZAREMBA_MAX_LENGTH,
  ZAREMBA_MAX_NESTING,
  type ZarembaCurriculumKind,
} from '@urgate/learning-to-execute';
import { type Engine, parseEngine } from '../engine.js';

export const L2E_GRAMMARS = ['deepmind', 'zaremba'] as const;
export type L2eGrammar = (typeof L2E_GRAMMARS)[number];
export const L2E_CORES = ['lstm', 'gru', 'rmc'] as const;
export type L2eCore = Core | 'rmc';

/** The paper's protocol (tasks.md "Program execution"): Adam, batch 128, lr 1e-3 (5e-4 also used). */
export const L2E_PROTOCOL = { batchSize: 128, learningRate: 1e-3, clipNorm: 1.0 } as const;

export interface RmcSize {
  memSlots: number;
  headSize: number;
  numHeads: number;
}

export interface L2eRunConfig {
  task: 'l2e';
  grammar: L2eGrammar;
  /** DeepMind task type (Zaremba's grammar has one: its programs). */
  programTask: DeepMindTask | 'program';
  /** Maximum literal length L and nesting N: the test (hardest) level. */
  length: number;
  nesting: number;
  curriculum: DeepMindCurriculumKind | ZarembaCurriculumKind;
  core: L2eCore;
  mechanism: Mechanism;
  /** LSTM/GRU: units per layer (RMC: unused, 0). */
  hiddenSize: number;
  numLayers: number;
  /** RMC only. */
  rmc: RmcSize | null;
  steps: number;
  batchSize: number;
  lr: number;
  /** Global gradient-norm clip (0: none). */
  clip: number;
  seed: number;
  evalEvery: number;
  /** Held-out test-split batches (of batchSize programs) per evaluation. */
  evalSize: number;
  checkpointEvery: number;
  /** Which implementation computes the model (engine.ts); a resumed run may change it. */
  engine: Engine;
}

type Named = 'grammar' | 'programTask' | 'curriculum' | 'core' | 'mechanism' | 'engine';
/** What a user gives: names as strings (checked by resolveL2eRunConfig), RMC sizes flat. */
export type L2eRunInput = Partial<Omit<L2eRunConfig, 'rmc' | 'task' | Named>> & {
  [K in Named | 'task']?: string;
} & {
  memSlots?: number;
  headSize?: number;
  numHeads?: number;
};

const DEFAULTS = { length: 5, nesting: 2 } as const;

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  throw new Error(`${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

function intIn(flag: string, value: unknown, lo: number, hi: number, why = ''): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= lo && value <= hi)
    return value;
  const range = hi === Number.MAX_SAFE_INTEGER ? `>= ${lo}` : `in [${lo}, ${hi}]`;
  throw new Error(`${flag}: expected an integer ${range}${why}, got ${JSON.stringify(value)}`);
}

const positive = (flag: string, value: unknown) => intIn(flag, value, 1, Number.MAX_SAFE_INTEGER);

function positiveNumber(flag: string, v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  throw new Error(`${flag}: expected a positive number, got ${JSON.stringify(v)}`);
}

/** Fills the defaults (the paper's protocol where it has one) and validates every field. */
export function resolveL2eRunConfig(input: L2eRunInput): L2eRunConfig {
  if (input.task !== undefined && input.task !== 'l2e')
    throw new Error(`task: expected l2e, got ${JSON.stringify(input.task)}`);
  const grammar = oneOf('--grammar', input.grammar ?? 'deepmind', L2E_GRAMMARS);
  const deepmind = grammar === 'deepmind';
  const programTask = deepmind
    ? oneOf('--program-task', input.programTask ?? 'all', DEEPMIND_TASKS)
    : oneOf('--program-task', input.programTask ?? 'program', ['program'] as const);
  const maxLength = deepmind ? DEEPMIND_MAX_LENGTH : ZAREMBA_MAX_LENGTH;
  const length = intIn('--length', input.length ?? DEFAULTS.length, 1, maxLength);
  const memory = deepmind && isMemoryTask(programTask as DeepMindTask);
  const nesting = intIn(
    '--nesting',
    input.nesting ?? (memory ? 1 : DEFAULTS.nesting),
    1,
    memory ? 1 : deepmind ? Number.MAX_SAFE_INTEGER : ZAREMBA_MAX_NESTING,
    memory ? ` (the ${programTask} task has one operation)` : '',
  );
  const curriculum = deepmind
    ? oneOf('--curriculum', input.curriculum ?? 'mix', DEEPMIND_CURRICULA)
    : oneOf('--curriculum', input.curriculum ?? 'mix', ZAREMBA_CURRICULA);
  const core = oneOf('--core', input.core ?? 'lstm', L2E_CORES);
  const mechanism = parseMechanism(input.mechanism ?? 'UR-', '--mechanism');
  let rmc: RmcSize | null = null;
  let hiddenSize = 0;
  let numLayers = 1;
  if (core === 'rmc') {
    oneOf('--mechanism', mechanism, RMC_MECHANISMS);
    if (input.hiddenSize !== undefined || (input.numLayers ?? 1) !== 1)
      throw new Error(
        '--hidden-size/--layers: the RMC is sized by --mem-slots, --head-size and --num-heads',
      );
    rmc = {
      memSlots: positive('--mem-slots', input.memSlots ?? 2),
      headSize: positive('--head-size', input.headSize ?? 64),
      numHeads: positive('--num-heads', input.numHeads ?? 2),
    };
  } else {
    if (
      input.memSlots !== undefined ||
      input.headSize !== undefined ||
      input.numHeads !== undefined
    )
      throw new Error('--mem-slots/--head-size/--num-heads: only the rmc core has memory slots');
    hiddenSize = intIn('--hidden-size', input.hiddenSize ?? 256, 2, Number.MAX_SAFE_INTEGER);
    numLayers = positive('--layers', input.numLayers ?? 1);
  }
  const clip = input.clip ?? L2E_PROTOCOL.clipNorm;
  if (typeof clip !== 'number' || !Number.isFinite(clip) || clip < 0)
    throw new Error(
      `--clip: expected a non-negative number (0 = none), got ${JSON.stringify(clip)}`,
    );
  return {
    task: 'l2e',
    grammar,
    programTask,
    length,
    nesting,
    curriculum,
    core,
    mechanism,
    hiddenSize,
    numLayers,
    rmc,
    steps: positive('--steps', input.steps ?? 2000),
    batchSize: positive('--batch-size', input.batchSize ?? L2E_PROTOCOL.batchSize),
    lr: positiveNumber('--lr', input.lr ?? L2E_PROTOCOL.learningRate),
    clip,
    seed: intIn('--seed', input.seed ?? 0, 0, Number.MAX_SAFE_INTEGER),
    evalEvery: positive('--eval-every', input.evalEvery ?? 100),
    evalSize: positive('--eval-size', input.evalSize ?? 4),
    checkpointEvery: positive('--checkpoint-every', input.checkpointEvery ?? 500),
    engine: parseEngine(input.engine ?? 'native', '--engine'),
  };
}

/** The input that resolves back to `config` (a sweep's config.json). */
export function l2eRunInput(config: L2eRunConfig): L2eRunInput {
  const { rmc, ...rest } = config;
  if (rmc === null) return rest;
  const { hiddenSize: _h, numLayers: _l, ...noLayers } = rest;
  return { ...noLayers, ...rmc };
}

/** "UR-LSTM", "-RMC": how tables name the model. */
export function l2eModelName(config: Pick<L2eRunConfig, 'core' | 'mechanism'>): string {
  return `${config.mechanism === '-' ? '' : config.mechanism}${config.core.toUpperCase()}`;
}
