import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { nativeAvailable } from '@urgate/kernels';
import { exportCheckpoint } from '@urgate/onnx';
import { classify, openModel } from '@urgate/onnx/runtime';
import { pixelBatch, pixelPermutation } from '@urgate/tasks';
import { describe, expect, it } from 'vitest';
import { resolveTaskRunConfig } from '../src/tasks/config.js';
import { classifierLogits, createTaskModel, runLayers } from '../src/tasks/model.js';
import { RUN_FILES, trainTask } from '../src/tasks/trainer.js';
import { loadTrainingState } from '../src/training-state.js';
import { assignTensors } from '../src/variable-training.js';
import { tinyDataset } from './tiny-dataset.js';

// The exporter lives in @urgate/onnx (a devDependency: train does not depend on it at run time).
describe.skipIf(!nativeAvailable)('trained classifier checkpoints export to ONNX', () => {
  for (const [core, zoneout] of [
    ['lstm', true],
    ['gru', false],
  ] as const) {
    it(`${core}${zoneout ? ' with zoneout' : ''}: ONNX logits equal the trainer's`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'urgate-onnx-'));
      const config = resolveTaskRunConfig({
        task: 'pfmnist',
        core,
        numLayers: 2,
        hiddenSize: 6,
        batchSize: 8,
        steps: 5,
        zoneout,
      });
      await trainTask(config, { outDir: out, progress: null, dataset: tinyDataset });
      for (const file of [RUN_FILES.model, RUN_FILES.checkpoint]) {
        const exported = await exportCheckpoint(join(out, file), join(out, 'onnx'), { name: file });
        const session = await openModel(exported.sequence);
        const set = tinyDataset.test;
        const batch = pixelBatch(set, [0, 1, 2, 3, 4], pixelPermutation('permuted', 16));
        const onnxLogits = await classify(session, batch.inputs, [16, 5, 1]);

        const state = await loadTrainingState(join(out, RUN_FILES.checkpoint));
        const model = createTaskModel(config, 1, 3);
        assignTensors(model.params, state.params, 'checkpoint');
        const ours = tf.tidy(() => {
          const xs = tf.tensor3d(batch.inputs, [16, 5, 1]);
          const outputs = runLayers(model, xs, { training: false });
          return classifierLogits(model, outputs[outputs.length - 1], {
            training: false,
          }).dataSync();
        });
        expect(onnxLogits.length).toBe(15);
        onnxLogits.forEach((v, k) => {
          expect(Math.abs(v - ours[k])).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(ours[k]));
        });
      }
    });
  }
});
