// Program batches for the encoder-decoder. Both grammars give (program, target) text; the
// model reads the program, then the start symbol and the target shifted by one (teacher
// forcing), and is scored on the target characters only.
import {
  DEEPMIND_PAD,
  DEEPMIND_START,
  DEEPMIND_VOCABULARY,
  DeepMindCurriculum,
  type DeepMindCurriculumState,
  type DeepMindTask,
  deepMindBatch,
  deepMindTokenId,
  type Split,
  ZAREMBA_GO,
  ZAREMBA_VOCABULARY,
  ZarembaCurriculum,
  type ZarembaCurriculumKind,
  zarembaBatch,
  zarembaTokenId,
} from '@urgate/learning-to-execute';
import { checksumOfArrays } from '../data-parallel.js';
import { deriveSeed } from '../seeds.js';
import type { L2eGrammar, L2eRunConfig } from './config.js';

/** A grammar's characters: vocabulary, start symbol of the decoder, padding id. */
export interface L2eAlphabet {
  grammar: L2eGrammar;
  vocabulary: readonly string[];
  start: string;
  pad: number;
  id(char: string): number;
}

export function l2eAlphabet(grammar: L2eGrammar): L2eAlphabet {
  return grammar === 'deepmind'
    ? {
        grammar,
        vocabulary: DEEPMIND_VOCABULARY,
        start: DEEPMIND_START,
        pad: deepMindTokenId(DEEPMIND_PAD),
        id: deepMindTokenId,
      }
    : { grammar, vocabulary: ZAREMBA_VOCABULARY, start: ZAREMBA_GO, pad: 0, id: zarembaTokenId };
}

export interface ProgramSample {
  program: string;
  target: string;
}

/**
 * One minibatch, time-major (element t·B + b), in two equivalent views:
 * - the stream the trainer runs: sample b reads its program, the start symbol and its target
 *   without the last character, then padding; the output after reading stream position
 *   programLength_b + j predicts target character j. Encoder and decoder share the core (as
 *   Sonnet's SequenceModel), so this is the encoder-decoder with the decoder starting from the
 *   state the program left, each sample at its own length;
 * - the encoder-decoder inputs the ONNX graph takes: program, its lengths, decoder inputs.
 */
export interface L2eBatch {
  batchSize: number;
  vocabSize: number;
  samples: ProgramSample[];
  /** Longest program + target of the batch. */
  steps: number;
  /** [steps, B]. */
  stream: Int32Array;
  /** Stream rows (t·B + b) whose output predicts a target character, sample by sample. */
  targetRows: Int32Array;
  /** The target character ids, in targetRows' order. */
  targets: Int32Array;
  /** Sample b's characters are targets[targetOffsets[b] .. targetOffsets[b + 1]). */
  targetOffsets: Int32Array;
  programSteps: number;
  outputSteps: number;
  /** [programSteps, B], padded. */
  program: Int32Array;
  programLengths: Int32Array;
  /** [outputSteps, B]: start symbol, then the target shifted by one, padded. */
  decoderInputs: Int32Array;
}

/** The batch of these samples (a pure function of them). */
export function l2eBatch(alphabet: L2eAlphabet, samples: ProgramSample[]): L2eBatch {
  const B = samples.length;
  if (B === 0) throw new Error('batch: expected at least one program');
  for (const s of samples)
    if (s.target.length === 0) throw new Error(`batch: program ${s.program} has an empty target`);
  const programSteps = Math.max(...samples.map((s) => s.program.length));
  const outputSteps = Math.max(...samples.map((s) => s.target.length));
  const steps = Math.max(...samples.map((s) => s.program.length + s.target.length));
  const stream = new Int32Array(steps * B).fill(alphabet.pad);
  const program = new Int32Array(programSteps * B).fill(alphabet.pad);
  const decoderInputs = new Int32Array(outputSteps * B).fill(alphabet.pad);
  const programLengths = new Int32Array(B);
  const targetOffsets = new Int32Array(B + 1);
  samples.forEach((s, b) => {
    targetOffsets[b + 1] = targetOffsets[b] + s.target.length;
  });
  const targetRows = new Int32Array(targetOffsets[B]);
  const targets = new Int32Array(targetOffsets[B]);
  const start = alphabet.id(alphabet.start);
  samples.forEach((s, b) => {
    const n = s.program.length;
    programLengths[b] = n;
    for (let t = 0; t < n; t++) {
      const id = alphabet.id(s.program[t]);
      stream[t * B + b] = id;
      program[t * B + b] = id;
    }
    for (let j = 0; j < s.target.length; j++) {
      const input = j === 0 ? start : alphabet.id(s.target[j - 1]);
      stream[(n + j) * B + b] = input;
      decoderInputs[j * B + b] = input;
      targetRows[targetOffsets[b] + j] = (n + j) * B + b;
      targets[targetOffsets[b] + j] = alphabet.id(s.target[j]);
    }
  });
  return {
    batchSize: B,
    vocabSize: alphabet.vocabulary.length,
    samples,
    steps,
    stream,
    targetRows,
    targets,
    targetOffsets,
    programSteps,
    outputSteps,
    program,
    programLengths,
    decoderInputs,
  };
}

/** What a checkpoint stores of the training curriculum. */
export type L2eCurriculumState = DeepMindCurriculumState | { length: number; nesting: number };

/**
 * The training curriculum of a run. Levels advance (naive, combine/combined) from held-out
 * validation programs of the current curriculum: DeepMind's rule on their loss, Zaremba's at
 * more than 95% character accuracy.
 */
export interface L2eCurriculum {
  /** Whether evaluations feed it (false: baseline and mix sample a fixed distribution). */
  readonly advances: boolean;
  /** The hardest level being sampled: (length, nesting) of the metrics file. */
  level(): { length: number; nesting: number };
  observe(validation: { loss: number; charAccuracy: number }): boolean;
  state(): L2eCurriculumState;
  restore(state: L2eCurriculumState): void;
}

type Drawer = (seed: number, step: number, split: Split) => ProgramSample[];

interface Grammar {
  draw: Drawer;
  curriculum: L2eCurriculum;
}

function deepMindGrammar(config: L2eRunConfig, kind: L2eRunConfig['curriculum']): Grammar {
  const curriculum = new DeepMindCurriculum({
    kind: kind as DeepMindCurriculum['kind'],
    maxLength: config.length,
    maxNesting: config.nesting,
  });
  const fixed = kind === 'mix' || kind === 'baseline';
  return {
    draw: (seed, step, split) =>
      deepMindBatch({
        seed,
        step,
        batchSize: config.batchSize,
        task: config.programTask as DeepMindTask,
        curriculum,
        split,
      }).samples,
    curriculum: {
      advances: !fixed,
      level: () => (fixed ? { length: config.length, nesting: config.nesting } : curriculum.level),
      observe: (v) => curriculum.update(v.loss),
      state: () => curriculum.state,
      restore: (s) => curriculum.restore(s as DeepMindCurriculumState),
    },
  };
}

/** The original raises the level at > 95% validation accuracy. */
const ZAREMBA_ADVANCE_ACCURACY = 0.95;

function zarembaGrammar(config: L2eRunConfig, kind: L2eRunConfig['curriculum']): Grammar {
  const curriculum = new ZarembaCurriculum({
    kind: kind as ZarembaCurriculumKind,
    targetLength: config.length,
    targetNesting: config.nesting,
  });
  const fixed = kind === 'mix' || kind === 'baseline';
  return {
    draw: (seed, step, split) =>
      zarembaBatch({ seed, step, batchSize: config.batchSize, curriculum, split }).samples,
    curriculum: {
      advances: !fixed,
      level: () => (fixed ? { length: config.length, nesting: config.nesting } : curriculum.level),
      observe: (v) => v.charAccuracy > ZAREMBA_ADVANCE_ACCURACY && curriculum.makeHarder(),
      state: () => curriculum.level,
      restore: (s) => curriculum.restore(s),
    },
  };
}

function grammarOf(config: L2eRunConfig, kind: L2eRunConfig['curriculum']): Grammar {
  return config.grammar === 'deepmind'
    ? deepMindGrammar(config, kind)
    : zarembaGrammar(config, kind);
}

/**
 * The data of a run. Training batch `step` is a pure function of (seed, step) and the
 * curriculum's state (which the checkpoint stores); held-out programs come from the
 * generator's disjoint splits: `test` at the hardest level (the baseline curriculum at
 * (length, nesting)) for the reported accuracies, `validation` from the training curriculum
 * for its level decisions.
 */
export interface L2eData {
  alphabet: L2eAlphabet;
  curriculum: L2eCurriculum;
  trainBatch(step: number): L2eBatch;
  /** Fixed: the same `evalSize` test batches at every evaluation. */
  testBatches(): L2eBatch[];
  /** `count` batches of one held-out split at the hardest level (test: testBatches' programs). */
  heldOutBatches(split: Split, count: number): L2eBatch[];
  validationBatch(evaluation: number): L2eBatch;
  /**
   * What ranks compare at start: the first training batch at the curriculum's starting level
   * and the test batches (same settings, same program generator).
   */
  checksum(): string;
}

// Seeds of the held-out programs per split, and of the curriculum's validation programs.
const PURPOSE = {
  validation: 0x7a11d,
  heldOut: { train: 1, validation: 2, test: 0x7e57 },
} as const;

export function openL2eData(config: L2eRunConfig): L2eData {
  const alphabet = l2eAlphabet(config.grammar);
  const train = grammarOf(config, config.curriculum);
  const test = grammarOf(config, 'baseline');
  const validationSeed = deriveSeed(config.seed, PURPOSE.validation);
  const heldOutBatches = (split: Split, count: number) => {
    const seed = deriveSeed(config.seed, PURPOSE.heldOut[split]);
    return Array.from({ length: count }, (_, k) => l2eBatch(alphabet, test.draw(seed, k, split)));
  };
  let tests: L2eBatch[] | null = null;
  const trainBatch = (step: number) => l2eBatch(alphabet, train.draw(config.seed, step, 'train'));
  const testBatches = () => {
    tests ??= heldOutBatches('test', config.evalSize);
    return tests;
  };
  return {
    alphabet,
    curriculum: train.curriculum,
    trainBatch,
    testBatches,
    heldOutBatches,
    validationBatch: (k) => l2eBatch(alphabet, train.draw(validationSeed, k, 'validation')),
    checksum: () =>
      checksumOfArrays([trainBatch(0), ...testBatches()].flatMap((b) => [b.stream, b.targets])),
  };
}
