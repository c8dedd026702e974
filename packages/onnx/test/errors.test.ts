import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCheckpoint } from '@urgate/contract';
import { rejectsInOneLine } from '@urgate/test-checks';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCheckpoint, writeTritonRepository } from '../src/index.js';
import { generate, openModel, scoreTokens, type UrgateModel } from '../src/runtime/index.js';
import { type Checkpoint, lmCheckpoint, type TinyLm, writeCheckpoint } from './fixtures.js';
import { tempDir } from './helpers.js';

const m: TinyLm = {
  core: 'gru',
  mechanism: 'UR-',
  numLayers: 2,
  vocabSize: 9,
  embeddingSize: 4,
  hiddenSize: 8,
  downsize: 4,
  layerNorm: false,
  tiedEmbeddings: false,
  fixedGateOffset: false,
  zoneout: null,
};

let dir: string;
let good: string;
let step: UrgateModel;
let sequence: UrgateModel;

beforeAll(async () => {
  dir = tempDir('errors');
  good = join(dir, 'good.safetensors');
  await writeCheckpoint(good, lmCheckpoint(m, 1));
  const files = await exportCheckpoint(good, join(dir, 'good'));
  step = await openModel(files.step as string);
  sequence = await openModel(files.sequence);
});

async function broken(name: string, edit: (c: Checkpoint) => void): Promise<string> {
  const c = lmCheckpoint(m, 1);
  edit(c);
  const path = join(dir, `${name}.safetensors`);
  await writeCheckpoint(path, c);
  return path;
}

/** Export into a fresh directory, expect the error, and check that nothing was written. */
async function rejectsWithoutFiles(ckpt: string, pattern: RegExp): Promise<void> {
  const out = join(dir, `out-${readdirSync(dir).length}`);
  await rejectsInOneLine(exportCheckpoint(ckpt, out), pattern);
  await rejectsInOneLine(writeTritonRepository(ckpt, out, { name: 'm' }), pattern);
  expect(() => readdirSync(out)).toThrow(/ENOENT/);
}

describe('bad checkpoints', () => {
  it('a missing tensor is named', async () => {
    const path = await broken('missing', (c) => delete c.tensors['layers.1.W']);
    await rejectsWithoutFiles(
      path,
      /missing\.safetensors: missing tensor layers\.1\.W \(expected shape \[16, 32\]\)/,
    );
  });

  it('a tensor of the wrong shape is named with both shapes', async () => {
    const path = await broken('shape', (c) => {
      c.tensors['output.b'] = { shape: [8], data: new Float32Array(8) };
    });
    await rejectsWithoutFiles(path, /tensor output\.b has shape \[8\], expected \[9\]/);
  });

  it('an unknown checkpoint version is refused', async () => {
    const bytes = encodeCheckpoint(lmCheckpoint(m, 1).tensors, lmCheckpoint(m, 1).meta);
    const text = Buffer.from(bytes)
      .toString('latin1')
      .replace('\\"version\\":1', '\\"version\\":7');
    const path = join(dir, 'version.safetensors');
    writeFileSync(path, Buffer.from(text, 'latin1'));
    await rejectsWithoutFiles(path, /version\.safetensors: checkpoint version 7 is not supported/);
  });

  it('an invalid model description is refused', async () => {
    const path = await broken('mechanism', (c) => {
      c.meta.model.mechanism = 'X-';
    });
    await rejectsWithoutFiles(
      path,
      /mechanism\.safetensors: model\.mechanism: unknown gate mechanism "X-"/,
    );
    const zoneout = await broken('zoneout', (c) => {
      c.meta.model.zoneout = { c: 1.5 };
    });
    await rejectsWithoutFiles(zoneout, /model\.zoneout\.c must be in \[0, 1\), got 1\.5/);
  });

  it('a file that is not a checkpoint is refused', async () => {
    const path = join(dir, 'text.safetensors');
    writeFileSync(path, 'hello');
    await rejectsWithoutFiles(path, /text\.safetensors: not an urgate checkpoint/);
  });

  it('a failed write leaves no temporary file behind', async () => {
    const out = join(dir, 'blocked');
    mkdirSync(join(out, 'good.sequence.onnx'), { recursive: true }); // a directory where the file goes
    await expect(exportCheckpoint(good, out)).rejects.toThrow();
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('bad ONNX files', () => {
  it('a non-ONNX file is refused in one line', async () => {
    const path = join(dir, 'notes.onnx');
    writeFileSync(path, 'this is not a model');
    await rejectsInOneLine(openModel(path), /notes\.onnx is not a readable ONNX model/);
  });

  it('a truncated ONNX file is refused in one line', async () => {
    const path = join(dir, 'truncated.onnx');
    const bytes = readFileSync(sequence.path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await rejectsInOneLine(
      openModel(path),
      /truncated\.onnx is not a readable ONNX model \(truncated or not ONNX/,
    );
  });

  it('a missing file is refused in one line', async () => {
    await rejectsInOneLine(openModel(join(dir, 'absent.onnx')), /cannot read .*absent\.onnx/);
  });

  it('an unavailable execution provider is refused in one line', async () => {
    const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
    if (cuda?.bundled) return; // a CUDA build: nothing to refuse
    await rejectsInOneLine(
      openModel(sequence.path, { provider: 'cuda' }),
      /provider "cuda" is not available in the installed onnxruntime-node/,
    );
  });
});

describe('bad inputs', () => {
  it('tokens outside the vocabulary are refused before any inference', async () => {
    await rejectsInOneLine(
      scoreTokens(sequence, [1, 2, 9, 3]),
      /scoreTokens: token 9 at position 2 is outside the vocabulary \[0, 9\)/,
    );
    await rejectsInOneLine(scoreTokens(sequence, [1, -1]), /token -1 at position 1/);
    await rejectsInOneLine(
      generate(step, [[1], [4, 2.5]], { maxTokens: 2 }),
      /generate: token 2\.5 at prompt 1 position 1 is outside/,
    );
  });

  it('a graph of the wrong kind is refused', async () => {
    await rejectsInOneLine(
      scoreTokens(step, [1, 2]),
      /scoreTokens: .*good\.step\.onnx is a lm-step graph, expected lm-sequence/,
    );
    await rejectsInOneLine(
      generate(sequence, [[1]], { maxTokens: 1 }),
      /generate: .* is a lm-sequence graph, expected lm-step/,
    );
  });

  it('bad sampling options are refused', async () => {
    await rejectsInOneLine(
      generate(step, [[1]], { maxTokens: 2, topP: 0 }),
      /topP must be in \(0, 1\]/,
    );
    await rejectsInOneLine(generate(step, [[]], { maxTokens: 2 }), /prompt 0 is empty/);
  });
});
