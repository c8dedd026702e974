// Synthetic memory tasks of the UR-LSTM paper (section 3.1, appendices D.1, E.1).
// Every batch is a pure function of (seed, step, batchSize): each sample draws from
// its own stream Random.stream(seed, taskId, step, sampleIndex), so all mechanisms
// trained with the same seed see the same fresh sequences, and a smaller batch is a
// prefix of a larger one.
//
// Layout is time-major like @urgate/cells: inputs[(t * batch + b) * inputSize + c].

import { Random } from '@urgate/random';

/** Copy alphabet: 0 blank, 1..8 data symbols, 9 cue. */
export const COPY_VOCAB_SIZE = 10;
export const COPY_DATA_SYMBOLS = 8;
export const COPY_CUE = 9;
export const COPY_PATTERN_LENGTH = 10;
/** Cross-entropy of the best memoryless prediction (uniform over the 8 data symbols). */
export const COPY_BASELINE_LOSS = Math.log(COPY_DATA_SYMBOLS);
/** MSE of the best memoryless prediction (always 1): the variance of a sum of two U[0,1]. */
export const ADDING_BASELINE_MSE = 1 / 6;

// Stream ids keep the tasks' random streams apart under the same seed.
const COPY_STREAM = 1;
const ADDING_STREAM = 2;

export interface BatchKey {
  /** Experiment seed (non-negative integer). */
  seed: number;
  /** Training step index (non-negative integer): a fresh batch per step. */
  step: number;
  batchSize: number;
}

export interface CopyBatch {
  task: 'copy';
  /** N + 20. */
  steps: number;
  batchSize: number;
  inputSize: typeof COPY_VOCAB_SIZE;
  /** One-hot symbols, [steps, batch, 10]. */
  inputs: Float32Array;
  /** The same symbols as ids, [steps, batch]. */
  tokens: Int32Array;
  /** Classes 1..8 (of a 10-way output) for output steps targetStart..steps-1, [10, batch]. */
  targets: Int32Array;
  /** First output step that carries a target: N + 10. */
  targetStart: number;
  numClasses: typeof COPY_VOCAB_SIZE;
}

export interface AddingBatch {
  task: 'adding';
  /** N. */
  steps: number;
  batchSize: number;
  inputSize: 2;
  /** [steps, batch, 2]: channel 0 the value U[0,1], channel 1 the two-hot marker. */
  inputs: Float32Array;
  /** Sum of the two marked values, read from the last output step, [batch]. */
  targets: Float32Array;
  /** Marked positions, [batch, 2]: first in [0, floor(N/2)), second in [floor(N/2), N). */
  markers: Int32Array;
}

function checkPositiveInt(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name}: expected a positive integer, got ${value}`);
  }
}

function checkKey(key: BatchKey, task: string): void {
  checkPositiveInt(key.batchSize, `${task} batchSize`);
  for (const name of ['seed', 'step'] as const) {
    const v = key[name];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new Error(`${task} ${name}: expected a non-negative integer, got ${v}`);
    }
  }
}

/**
 * Copy task with delay N: 10 symbols from {1..8}, N blanks, ten cues (9); the model
 * must output the 10 symbols during the cue. Loss: cross-entropy on the last 10 outputs.
 */
export function copyBatch(key: BatchKey & { length: number }): CopyBatch {
  checkKey(key, 'copy');
  if (!Number.isSafeInteger(key.length) || key.length < 0) {
    throw new Error(`copy length: expected a non-negative integer N, got ${key.length}`);
  }
  const { batchSize: B, length: N } = key;
  const steps = N + 2 * COPY_PATTERN_LENGTH;
  const targetStart = N + COPY_PATTERN_LENGTH;
  const tokens = new Int32Array(steps * B);
  const targets = new Int32Array(COPY_PATTERN_LENGTH * B);
  for (let b = 0; b < B; b++) {
    const rng = Random.stream(key.seed, COPY_STREAM, key.step, b);
    for (let t = 0; t < COPY_PATTERN_LENGTH; t++) {
      const symbol = 1 + rng.int(COPY_DATA_SYMBOLS);
      tokens[t * B + b] = symbol;
      targets[t * B + b] = symbol;
    }
    for (let t = targetStart; t < steps; t++) tokens[t * B + b] = COPY_CUE;
  }
  const inputs = new Float32Array(steps * B * COPY_VOCAB_SIZE);
  for (let i = 0; i < tokens.length; i++) inputs[i * COPY_VOCAB_SIZE + tokens[i]] = 1;
  return {
    task: 'copy',
    steps,
    batchSize: B,
    inputSize: COPY_VOCAB_SIZE,
    inputs,
    tokens,
    targets,
    targetStart,
    numClasses: COPY_VOCAB_SIZE,
  };
}

/**
 * Adding task of length N: values U[0,1] (24-bit, exact in float32) and a two-hot
 * marker with one index in each half; target the sum of the two marked values. Loss: MSE.
 */
export function addingBatch(key: BatchKey & { length: number }): AddingBatch {
  checkKey(key, 'adding');
  if (!Number.isSafeInteger(key.length) || key.length < 2) {
    throw new Error(`adding length: expected an integer N >= 2, got ${key.length}`);
  }
  const { batchSize: B, length: N } = key;
  const half = Math.floor(N / 2);
  const inputs = new Float32Array(N * B * 2);
  const targets = new Float32Array(B);
  const markers = new Int32Array(B * 2);
  for (let b = 0; b < B; b++) {
    const rng = Random.stream(key.seed, ADDING_STREAM, key.step, b);
    for (let t = 0; t < N; t++) inputs[(t * B + b) * 2] = rng.uniform();
    const first = rng.int(half);
    const second = half + rng.int(N - half);
    markers[b * 2] = first;
    markers[b * 2 + 1] = second;
    inputs[(first * B + b) * 2 + 1] = 1;
    inputs[(second * B + b) * 2 + 1] = 1;
    targets[b] = inputs[(first * B + b) * 2] + inputs[(second * B + b) * 2];
  }
  return { task: 'adding', steps: N, batchSize: B, inputSize: 2, inputs, targets, markers };
}

/**
 * Settings of the synthetic forgetting experiment (appendix E.1): the adding task of
 * length 500 with a small network whose gate biases all start extremely high. The data
 * is `forgettingBatch`; the trainer applies the model settings below.
 */
export const FORGETTING_SETTINGS = {
  length: 500,
  hiddenSize: 64,
  learningRate: 1e-4,
  iterations: 10_000,
  /** Every gate bias is initialised to this value: effective forget activation ≈ σ(6). */
  gateBias: 6,
} as const;

/** Adding-task batch at the forgetting experiment's length (500). */
export function forgettingBatch(key: BatchKey): AddingBatch {
  return addingBatch({ ...key, length: FORGETTING_SETTINGS.length });
}

/** Paper protocol for the synthetic tasks (section 3.1, appendix D.1). */
export const SYNTHETIC_PROTOCOL = {
  copy: { length: 500, iterations: 100_000, baselineLoss: COPY_BASELINE_LOSS },
  adding: { length: 2000, iterations: 20_000, baselineLoss: ADDING_BASELINE_MSE },
  layers: 1,
  hiddenSize: 256,
  learningRate: 1e-3,
  clipNorm: 1.0,
  seeds: 3,
} as const;
