// The task models with the native ops (dense heads, step slices, native zoneout/dropout masks,
// fused layers) against the tfjs reference path: loss and every parameter's gradient, for the
// copy, adding and pixel-classifier heads, with zoneout and head dropout in training mode.
import { zoneoutMasks } from '@urgate/cells';
import { nativeAvailable, nativeDropoutMask, nativeZoneoutMask } from '@urgate/kernels';
import { addingBatch, copyBatch } from '@urgate/tasks';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { dropoutMask } from '../src/masks.js';
import { resolveTaskRunConfig, type TaskRunInput } from '../src/tasks/config.js';
import type { TaskBatch } from '../src/tasks/data.js';
import { createTaskModel, type Mode } from '../src/tasks/model.js';
import { taskLoss } from '../src/tasks/trainer.js';
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

function taskLossAndGrads(
  input: TaskRunInput,
  batch: TaskBatch,
  outputs: number,
  mode: Mode,
  engine: Engine,
) {
  const config = resolveTaskRunConfig({ ...input, engine });
  const model = createTaskModel(config, batch.inputSize, outputs);
  return lossAndGrads(model.params, () => taskLoss(model, batch, mode).loss);
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

describe.skipIf(!nativeAvailable)('task models: native ops vs the tfjs reference', () => {
  it.each(cases)('%s: loss and every gradient agree', (_, input, batch, outputs) => {
    const mode: Mode = { training: true, step: 4 };
    const ref = taskLossAndGrads(input, batch(), outputs, mode, 'reference');
    const fused = taskLossAndGrads(input, batch(), outputs, mode, 'native');
    expectEnginesAgree(fused, ref);
  });

  it('native zoneout and dropout masks equal the reference draws bit for bit', () => {
    for (const seed of [0, 77, 2 ** 33 + 5]) {
      expect(Array.from(nativeZoneoutMask(0.15, [4, 3, 7], seed).dataSync())).toEqual(
        Array.from(zoneoutMasks(0.15, [4, 3, 7], seed).dataSync()),
      );
      expect(Array.from(nativeDropoutMask(0.5, [6, 11], seed).dataSync())).toEqual(
        Array.from(dropoutMask(0.5, [6, 11], seed).dataSync()),
      );
    }
  });
});
