// The exporter reads checkpoints through @urgate/contract: exporting loads neither tfjs nor the cells.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordedModules, recordingModules } from '@urgate/source-hooks';
import { describe, expect, it } from 'vitest';
import { lmCheckpoint, type TinyLm, writeCheckpoint } from './fixtures.js';
import { tempDir } from './helpers.js';

describe('@urgate/onnx without tfjs', () => {
  it('exports a checkpoint without loading tfjs, @urgate/cells or the kernels', async () => {
    const dir = tempDir('no-tfjs');
    const ckpt = join(dir, 'lm.safetensors');
    const m: TinyLm = {
      ...{ core: 'lstm', mechanism: 'UR-', numLayers: 1, vocabSize: 7, embeddingSize: 4 },
      ...{ hiddenSize: 4, downsize: 2, layerNorm: true, tiedEmbeddings: true },
      ...{ fixedGateOffset: false, zoneout: null },
    };
    await writeCheckpoint(ckpt, lmCheckpoint(m, 1));
    const log = join(dir, 'modules.log');
    const recording = recordingModules(log);
    const child = spawnSync(
      process.execPath,
      [
        ...recording.args,
        fileURLToPath(new URL('./child/export.ts', import.meta.url)),
        ckpt,
        join(dir, 'onnx'),
      ],
      { env: recording.env, encoding: 'utf8' },
    );
    expect(child.status, child.stderr).toBe(0);
    expect(existsSync(join(dir, 'onnx', 'lm.sequence.onnx'))).toBe(true);
    const esm = recordedModules(log);
    const { cjs } = JSON.parse(child.stdout) as { cjs: string[] };
    expect(esm.some((u) => u.includes('/packages/contract/'))).toBe(true);
    const forbidden = /@tensorflow|\/packages\/(cells|kernels)\/|@urgate\/(cells|kernels)/;
    expect([...esm, ...cjs].filter((u) => forbidden.test(u))).toEqual([]);
  });
});
