// The task models as one native object (@urgate/kernels' NativeTaskModel, through the trainer's
// NativeTaskTraining) against the reference engine (tfjs autodiff over cells' tfjs layers): the
// same initial parameters, loss and every parameter's gradient, for the copy, adding and
// pixel-classifier heads, with zoneout and head dropout in training mode and as a data-parallel
// share; held-out scores and the forget-gate statistics; the native masks.
import * as tf from '@tensorflow/tfjs';
import { zoneoutMasks } from '@urgate/cells';
import { arenaView, bernoulliMask, nativeAvailable } from '@urgate/kernels/native';
import { addingBatch, copyBatch } from '@urgate/tasks';
import { describe, expect, it } from 'vitest';
import { dropoutMask } from '../src/masks.js';
import { resolveTaskRunConfig, type TaskRunInput } from '../src/tasks/config.js';
import { type TaskBatch, taskBatchRows } from '../src/tasks/data.js';
import { createTaskModel, type Mode, meanForgetPerUnit, taskLoss } from '../src/tasks/model.js';
import { NativeTaskTraining } from '../src/tasks/native-training.js';
import type { TaskRows } from '../src/tasks/training.js';
import { expectEnginesAgree, lossAndGrads } from './engine-parity.js';

function pixelBatch(B: number, T: number, classes: number): TaskBatch {
  let s = 5;
  const next = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  return {
    steps: T,
    batchSize: B,
    inputSize: 1,
    inputs: Float32Array.from({ length: T * B }, next),
    targets: Int32Array.from({ length: B }, () => Math.floor(next() * classes)),
  };
}

const STEP = 4;

/** The reference engine's model and the native object, both initialised from the run's seed. */
function bothEngines(input: TaskRunInput, batch: TaskBatch, outputs: number) {
  const config = resolveTaskRunConfig(input);
  const reference = createTaskModel({ ...config, engine: 'reference' }, batch.inputSize, outputs);
  const native = new NativeTaskTraining({ ...config, engine: 'native' }, batch.inputSize, outputs);
  return { reference, native };
}

function nativeLossAndGrads(native: NativeTaskTraining, batch: TaskBatch, rows?: TaskRows) {
  const loss = native.gradients(batch, STEP, rows);
  const grads = Object.fromEntries(
    native.model.tensors.map((t) => [t.name, arenaView(native.model, t.name, 'grads').slice()]),
  );
  return { loss, grads };
}

const cases: [string, TaskRunInput, () => TaskBatch, number][] = [
  [
    'copy, 2-layer UR-LSTM',
    { task: 'copy', length: 5, hiddenSize: 8, numLayers: 2 },
    () => copyBatch({ seed: 3, step: 0, batchSize: 4, length: 5 }),
    10,
  ],
  [
    'adding, UR-GRU',
    { task: 'adding', length: 6, hiddenSize: 6, core: 'gru' },
    () => addingBatch({ seed: 1, step: 0, batchSize: 5, length: 6 }),
    1,
  ],
  [
    'pixel classifier, zoneout + head dropout, UR-LSTM',
    { task: 'sfmnist', hiddenSize: 6, zoneout: true },
    () => pixelBatch(4, 9, 10),
    10,
  ],
];

describe.skipIf(!nativeAvailable)('task models: the native object vs the reference engine', () => {
  it.each(cases)(
    '%s: same initial parameters; loss and every gradient agree',
    (_, input, makeBatch, outputs) => {
      const batch = makeBatch();
      const { reference, native } = bothEngines(input, batch, outputs);
      for (const [name, v] of Object.entries(reference.params))
        expect(arenaView(native.model, name), name).toEqual(v.dataSync());
      const mode: Mode = { training: true, step: STEP };
      const ref = lossAndGrads(reference.params, () => taskLoss(reference, batch, mode).loss);
      expectEnginesAgree(nativeLossAndGrads(native, batch), ref);
    },
  );

  it('a data-parallel share (rows 1..3 of 4) takes those rows of the global masks', () => {
    const [, input, makeBatch, outputs] = cases[2];
    const whole = makeBatch();
    const batch = taskBatchRows(whole, 1, 3);
    const rows = { lo: 1, hi: 3, total: 4 };
    const { reference, native } = bothEngines(input, batch, outputs);
    const mode: Mode = { training: true, step: STEP, rows };
    const ref = lossAndGrads(reference.params, () => taskLoss(reference, batch, mode).loss);
    expectEnginesAgree(nativeLossAndGrads(native, batch, rows), ref);
  });

  it.each(cases)(
    '%s: held-out score and the forget-gate statistics agree',
    (_, input, makeBatch, outputs) => {
      const batch = makeBatch();
      const { reference, native } = bothEngines(input, batch, outputs);
      const score = native.score(batch);
      const ref = tf.tidy(() => {
        const out = taskLoss(reference, batch, { training: false });
        return { loss: out.loss.dataSync()[0], correct: out.correct?.dataSync()[0] ?? 0 };
      });
      expect(Math.abs(score.loss - ref.loss)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(ref.loss));
      expect(score.correct).toBe(ref.correct);
      const forget = native.meanForgetPerUnit(batch);
      const refForget = meanForgetPerUnit(reference, batch);
      expect(forget.length).toBe(refForget.length);
      forget.forEach((f, j) => {
        expect(Math.abs(f - refForget[j])).toBeLessThanOrEqual(1e-5);
      });
    },
  );

  it('native zoneout and dropout masks equal the reference draws bit for bit', () => {
    for (const seed of [0, 77, 2 ** 33 + 5]) {
      expect(Array.from(bernoulliMask(0.15, seed, 4 * 3 * 7, 1, 0))).toEqual(
        Array.from(zoneoutMasks(0.15, [4, 3, 7], seed).dataSync()),
      );
      expect(Array.from(bernoulliMask(0.5, seed, 6 * 11, 0, 2))).toEqual(
        Array.from(dropoutMask(0.5, [6, 11], seed).dataSync()),
      );
    }
  });
});
