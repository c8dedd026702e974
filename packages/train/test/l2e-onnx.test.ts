import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { exportCheckpoint } from '@urgate/onnx';
import { decodeL2e, openModel } from '@urgate/onnx/runtime';
import { onnxCheck, onnxCheckerMissing } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import { resolveL2eRunConfig } from '../src/l2e/config.js';
import { openL2eData } from '../src/l2e/data.js';
import { L2E_FILES, trainL2e } from '../src/l2e/trainer.js';
import { createL2eTraining } from '../src/l2e/training.js';
import { loadTrainingState, restoreArenas } from '../src/training-state.js';

describe.skipIf(!nativeAvailable)('trained l2e models export to an ONNX encoder-decoder', () => {
  const rmcSize = { memSlots: 2, headSize: 3, numHeads: 2 };
  for (const [label, grammar, size] of [
    ['UR-LSTM x2', 'deepmind', { core: 'lstm', mechanism: 'UR-', numLayers: 2, hiddenSize: 6 }],
    ['GRU x1', 'zaremba', { core: 'gru', mechanism: '-', numLayers: 1, hiddenSize: 6 }],
    ['UR-RMC', 'deepmind', { core: 'rmc', mechanism: 'UR-', ...rmcSize }],
    ['RMC', 'zaremba', { core: 'rmc', mechanism: '-', ...rmcSize }],
  ] as const)
    it(`${label}, ${grammar} grammar: onnxruntime logits equal the trainer's`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'urgate-l2e-onnx-'));
      const config = resolveL2eRunConfig({
        grammar,
        ...size,
        length: 2,
        nesting: 2,
        batchSize: 5,
        steps: 4,
        evalEvery: 4,
        evalSize: 1,
      });
      await trainL2e(config, { outDir: out, progress: null });
      // Programs of different lengths in one batch: the graph holds each row's state at its end.
      const batch = openL2eData(config).testBatches()[0];
      expect(new Set(batch.programLengths).size).toBeGreaterThan(1);
      const checkpoint = join(out, L2E_FILES.checkpoint);
      const model = await createL2eTraining(config, batch.vocabSize);
      restoreArenas(checkpoint, await loadTrainingState(checkpoint), model.model);
      const ours = model.evaluate(batch).logits;
      // The training checkpoint exports as well as the final model (the RMC's fixed gate
      // offsets are saved beside its parameters).
      for (const file of [L2E_FILES.model, L2E_FILES.checkpoint]) {
        const exported = await exportCheckpoint(join(out, file), join(out, 'onnx'), { name: file });
        if (onnxCheckerMissing() === null) expect(onnxCheck([exported.sequence])).toEqual([]);
        const session = await openModel(exported.sequence);
        const logits = await decodeL2e(session, batch);
        await session.close();
        const V = batch.vocabSize;
        const B = batch.batchSize;
        expect(logits.length).toBe(batch.outputSteps * B * V);
        for (let b = 0; b < B; b++)
          for (let r = batch.targetOffsets[b]; r < batch.targetOffsets[b + 1]; r++) {
            const j = r - batch.targetOffsets[b];
            for (let k = 0; k < V; k++) {
              const want = ours[r * V + k];
              const got = logits[(j * B + b) * V + k];
              expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(want));
            }
          }
      }
    });
});
