// Minibatches of programs, time-major like @urgate/cells ([T, B] token ids). Sample b of
// step s is drawn from Random.stream(seed, s, b): a batch is a pure function of
// (seed, step, batchSize, curriculum state), whatever was generated before.
// With `split`, programs whose text hashes to another split are redrawn, so train,
// validation and test programs never overlap.

import { Random } from '@urgate/random';
import {
  DEEPMIND_PAD,
  DEEPMIND_START,
  DEEPMIND_VOCABULARY,
  type DeepMindSample,
  type DeepMindTask,
  deepMindSequenceLengths,
  deepMindTokenId,
  generateDeepMindProgram,
} from './deepmind.js';
import type { DeepMindCurriculum } from './deepmindCurriculum.js';
import { checkSplit, type Split, splitOf } from './split.js';
import {
  generateZarembaProgram,
  ZAREMBA_GO,
  ZAREMBA_VOCABULARY,
  type ZarembaSample,
  zarembaTokenId,
} from './zaremba.js';
import type { ZarembaCurriculum } from './zarembaCurriculum.js';

/** Redraws allowed to find a program of the requested split. */
const SPLIT_TRIES = 1000;

export interface BatchKey {
  seed: number;
  step: number;
  batchSize: number;
  split?: Split;
}

function checkKey(key: BatchKey): void {
  if (!Number.isSafeInteger(key.batchSize) || key.batchSize < 1) {
    throw new Error(`batchSize: expected a positive integer, got ${key.batchSize}`);
  }
  checkSplit(key.split);
}

function drawInSplit<T extends { program: string }>(split: Split | undefined, draw: () => T): T {
  for (let i = 0; i < SPLIT_TRIES; i++) {
    const sample = draw();
    if (split === undefined || splitOf(sample.program) === split) return sample;
  }
  throw new Error(
    `split ${split}: no program of this split in ${SPLIT_TRIES} draws; the level has too few distinct programs`,
  );
}

export interface DeepMindBatch {
  task: DeepMindTask;
  samples: DeepMindSample[];
  batchSize: number;
  inputSteps: number;
  outputSteps: number;
  vocabSize: number;
  /** Program characters padded with ".", [inputSteps, B]. */
  inputs: Int32Array;
  /** Target characters padded with ".", [outputSteps, B]. */
  targets: Int32Array;
  /** Decoder inputs: "~" then targets shifted by one step, [outputSteps, B]. */
  decoderInputs: Int32Array;
  /** Unpadded program and target lengths, [B]. */
  inputLengths: Int32Array;
  targetLengths: Int32Array;
}

/** A batch of the DeepMind grammar; sequence sizes follow the curriculum's maxima. */
export function deepMindBatch(
  key: BatchKey & { task?: DeepMindTask; curriculum: DeepMindCurriculum },
): DeepMindBatch {
  checkKey(key);
  const task = key.task ?? 'all';
  const { curriculum } = key;
  const { inputSteps, outputSteps } = deepMindSequenceLengths(
    task,
    curriculum.maxLength,
    curriculum.maxNesting,
  );
  const B = key.batchSize;
  const pad = deepMindTokenId(DEEPMIND_PAD);
  const inputs = new Int32Array(inputSteps * B).fill(pad);
  const targets = new Int32Array(outputSteps * B).fill(pad);
  const decoderInputs = new Int32Array(outputSteps * B);
  const inputLengths = new Int32Array(B);
  const targetLengths = new Int32Array(B);
  const samples: DeepMindSample[] = [];
  for (let b = 0; b < B; b++) {
    const rng = Random.stream(key.seed, key.step, b);
    const sample = drawInSplit(key.split, () => {
      const { length, nesting } = curriculum.sample(rng);
      return generateDeepMindProgram(rng, task, length, nesting);
    });
    if (sample.program.length > inputSteps || sample.target.length > outputSteps) {
      throw new Error(
        `${task} program of ${sample.program.length}/${sample.target.length} characters exceeds ${inputSteps}/${outputSteps} steps`,
      );
    }
    samples.push(sample);
    inputLengths[b] = sample.program.length;
    targetLengths[b] = sample.target.length;
    for (let t = 0; t < sample.program.length; t++) {
      inputs[t * B + b] = deepMindTokenId(sample.program[t]);
    }
    for (let t = 0; t < sample.target.length; t++) {
      targets[t * B + b] = deepMindTokenId(sample.target[t]);
    }
    decoderInputs[b] = deepMindTokenId(DEEPMIND_START);
    for (let t = 1; t < outputSteps; t++) decoderInputs[t * B + b] = targets[(t - 1) * B + b];
  }
  return {
    task,
    samples,
    batchSize: B,
    inputSteps,
    outputSteps,
    vocabSize: DEEPMIND_VOCABULARY.length,
    inputs,
    targets,
    decoderInputs,
    inputLengths,
    targetLengths,
  };
}

export interface ZarembaBatch {
  samples: ZarembaSample[];
  batchSize: number;
  /** Longest stream in the batch minus one. */
  steps: number;
  vocabSize: number;
  /** Characters of program + "@" + target, 0-padded, [steps, B]. */
  inputs: Int32Array;
  /** Next character where it is a target character, else 0 (no loss), [steps, B]. */
  targets: Int32Array;
  /** Steps used by each sample (its stream length minus one), [B]. */
  lengths: Int32Array;
}

/** A batch of the Zaremba grammar for teacher-forced next-character prediction. */
export function zarembaBatch(key: BatchKey & { curriculum: ZarembaCurriculum }): ZarembaBatch {
  checkKey(key);
  const B = key.batchSize;
  const samples: ZarembaSample[] = [];
  for (let b = 0; b < B; b++) {
    const rng = Random.stream(key.seed, key.step, b);
    samples.push(
      drawInSplit(key.split, () => generateZarembaProgram(rng, key.curriculum.hardness(rng))),
    );
  }
  const streams = samples.map((s) => `${s.program}${ZAREMBA_GO}${s.target}`);
  const steps = Math.max(...streams.map((s) => s.length)) - 1;
  const inputs = new Int32Array(steps * B);
  const targets = new Int32Array(steps * B);
  const lengths = new Int32Array(B);
  streams.forEach((stream, b) => {
    const firstTarget = samples[b].program.length + 1;
    lengths[b] = stream.length - 1;
    for (let t = 0; t < stream.length - 1; t++) {
      inputs[t * B + b] = zarembaTokenId(stream[t]);
      if (t + 1 >= firstTarget) targets[t * B + b] = zarembaTokenId(stream[t + 1]);
    }
  });
  return {
    samples,
    batchSize: B,
    steps,
    vocabSize: ZAREMBA_VOCABULARY.length,
    inputs,
    targets,
    lengths,
  };
}
