// downsize (C) and tMax reach the layers of both trainers and are recorded in their checkpoints.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerLayout, loadCheckpoint } from '@urgate/contract';
import { nativeAvailable } from '@urgate/kernels';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { resolveLmConfig } from '../src/lm/config.js';
import { loadLmCheckpoint } from '../src/lm/load.js';
import { LM_FILES, trainLm } from '../src/lm/trainer.js';
import { resolveTaskRunConfig } from '../src/tasks/config.js';
import { RUN_FILES, trainTask } from '../src/tasks/trainer.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'urgate-gate-settings-'));

describe.skipIf(!nativeAvailable)('downsize and tMax in the trainers', () => {
  it('task trainer: OM- with C = 4 has masters d/4 wide; chrono with Tmax 7; both recorded', async () => {
    const base = { task: 'copy', length: 4, hiddenSize: 8, batchSize: 2, steps: 1, evalSize: 1 };
    const om = fresh();
    await trainTask(resolveTaskRunConfig({ ...base, mechanism: 'OM-', downsize: 4 }), {
      outDir: om,
      progress: null,
    });
    for (const file of [RUN_FILES.model, RUN_FILES.checkpoint]) {
      const { tensors, meta } = await loadCheckpoint(join(om, file));
      expect(meta.model.downsize).toBe(4);
      // LSTM OM-: f i u o (4d) + mf mi (2 · d/C) = 32 + 4 columns.
      expect(tensors['layers.0.W'].shape).toEqual([10 + 8, 36]); // copy inputs: 10 one-hot symbols
    }
    const chrono = fresh();
    await trainTask(resolveTaskRunConfig({ ...base, mechanism: 'C-', tMax: 7 }), {
      outDir: chrono,
      progress: null,
    });
    const { meta } = await loadCheckpoint(join(chrono, RUN_FILES.model));
    expect(meta.model.tMax).toBe(7);
    expect(() => resolveTaskRunConfig({ ...base, downsize: 0 })).toThrow(
      /^downsize: expected a positive integer/,
    );
  });

  it('LM trainer: UM- with C = 2 trains, and the model file loads back with it', async () => {
    const dir = fresh();
    const text = ' \n = A = \n \n the cat sat on the mat . \n \n'.repeat(6);
    for (const split of ['train', 'valid', 'test'])
      writeFileSync(join(dir, `wiki.${split}.tokens`), text);
    await prepareCorpus({
      dataDir: dir,
      cacheDir: join(dir, 'cache'),
      tokenizer: { kind: 'word' },
    });
    const config = resolveLmConfig({
      mechanism: 'UM-',
      hiddenSize: 8,
      downsize: 2,
      bptt: 4,
      batchSize: 2,
      steps: 2,
    });
    await trainLm(config, {
      cacheDir: join(dir, 'cache'),
      outDir: join(dir, 'run'),
      progress: null,
    });
    const { model } = await loadLmCheckpoint(join(dir, 'run', LM_FILES.model));
    expect(model.arch.downsize).toBe(2);
    const W = model.tensors.find((t) => t.name === 'layers.0.W');
    expect(W?.shape[1]).toBe(
      layerLayout({ ...model.arch, inputSize: model.arch.embeddingSize, downsize: 2 }).cols,
    );
    expect(W?.shape[1]).toBe(4 * 8 + 2 * 4);
    expect(() => resolveLmConfig({ ...config, tMax: -1 })).toThrow(
      /^tMax: expected a positive number/,
    );
  });
});
