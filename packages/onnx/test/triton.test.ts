import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '@urgate/random';
import { onnxCheck, onnxCheckerMissing } from '@urgate/test-checks';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCheckpoint, writeTritonRepository } from '../src/index.js';
import { openModel, type UrgateModel } from '../src/runtime/index.js';
import { classifierCheckpoint, lmCheckpoint, type TinyLm, writeCheckpoint } from './fixtures.js';
import { expectClose, tempDir } from './helpers.js';

const m: TinyLm = {
  core: 'lstm',
  mechanism: 'OM-',
  numLayers: 2,
  vocabSize: 10,
  embeddingSize: 8,
  hiddenSize: 8,
  downsize: 4,
  layerNorm: true,
  tiedEmbeddings: true,
  fixedGateOffset: false,
  zoneout: null,
};
const [L, d, V] = [m.numLayers, m.hiddenSize, m.vocabSize];

let repo: string;
let plainStep: UrgateModel;
let tritonStep: UrgateModel;

beforeAll(async () => {
  const dir = tempDir('triton');
  const ckpt = join(dir, 'lm.safetensors');
  await writeCheckpoint(ckpt, lmCheckpoint(m, 8));
  repo = join(dir, 'repo');
  const r = await writeTritonRepository(ckpt, repo, { name: 'urlstm', maxBatchSize: 16 });
  expect(r.models).toEqual([join(repo, 'urlstm_step'), join(repo, 'urlstm_sequence')]);
  plainStep = await openModel((await exportCheckpoint(ckpt, dir)).step as string);
  tritonStep = await openModel(join(repo, 'urlstm_step', '1', 'model.onnx'));
});

/** `[B, L, d]` <-> `[L, B, d]`. */
function swap01(x: Float32Array, a: number, b: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < a; i++)
    for (let j = 0; j < b; j++)
      out.set(x.subarray((i * b + j) * d, (i * b + j + 1) * d), (j * a + i) * d);
  return out;
}

describe('Triton model repository', () => {
  it('lays out <name>_step and <name>_sequence with config.pbtxt and 1/model.onnx', () => {
    for (const model of ['urlstm_step', 'urlstm_sequence']) {
      expect(existsSync(join(repo, model, 'config.pbtxt'))).toBe(true);
      expect(existsSync(join(repo, model, '1', 'model.onnx'))).toBe(true);
    }
  });

  it('the step config declares sequence batching with implicit h/c state that the graph reads and writes', () => {
    const config = readFileSync(join(repo, 'urlstm_step', 'config.pbtxt'), 'utf8');
    expect(config).toContain('name: "urlstm_step"');
    expect(config).toContain('backend: "onnxruntime"');
    expect(config).toContain('max_batch_size: 16');
    expect(config).toMatch(/sequence_batching \{/);
    expect(config).toMatch(
      /name: "reset"\s+control \[\s+\{\s+kind: CONTROL_SEQUENCE_START\s+fp32_false_true: \[ 0, 1 \]/,
    );
    for (const s of ['h', 'c']) {
      expect(config).toMatch(
        new RegExp(
          `input_name: "${s}_in"\\s+output_name: "${s}_out"\\s+data_type: TYPE_FP32\\s+dims: \\[ ${L}, ${d} \\]`,
        ),
      );
      expect(config).toMatch(
        new RegExp(
          `name: "zero_${s}"\\s+data_type: TYPE_FP32\\s+dims: \\[ ${L}, ${d} \\]\\s+zero_data: true`,
        ),
      );
    }
    expect(config).toMatch(
      /name: "tokens"\s+data_type: TYPE_INT64\s+dims: \[ 1 \]\s+reshape: \{ shape: \[ \] \}/,
    );
    expect(config).toMatch(/name: "logits"\s+data_type: TYPE_FP32\s+dims: \[ 10 \]/);
    // Braces balance: the text is one well-formed message.
    expect(config.split('{').length).toBe(config.split('}').length);
    expect(config.split('[').length).toBe(config.split(']').length);
    expect([...tritonStep.session.inputNames].sort()).toEqual(['c_in', 'h_in', 'reset', 'tokens']);
    expect([...tritonStep.session.outputNames].sort()).toEqual(['c_out', 'h_out', 'logits']);
  });

  it('the sequence config lists the scoring graph inputs and outputs', () => {
    const config = readFileSync(join(repo, 'urlstm_sequence', 'config.pbtxt'), 'utf8');
    expect(config).toContain('max_batch_size: 0');
    for (const name of ['tokens', 'targets', 'reset', 'h_in', 'c_in', 'nll', 'h_out', 'c_out'])
      expect(config).toContain(`name: "${name}"`);
    expect(config).toMatch(/name: "h_in"\s+data_type: TYPE_FP32\s+dims: \[ 2, -1, 8 \]/);
  });

  it('the batch-first step graph computes what the step graph does, and reset zeroes a row', async () => {
    const B = 3;
    const rng = new SeededRandom(4);
    const state = () => Float32Array.from({ length: L * B * d }, () => rng.uniform(-1, 1));
    const [h, c] = [state(), state()];
    const tokens = new ort.Tensor('int64', BigInt64Array.from([1n, 5n, 9n]), [B]);
    // The plain step graph takes the state [L, B, d]; Triton's, batch first, [B, L, d] and resets.
    const runPlain = (h: Float32Array, c: Float32Array) =>
      plainStep.session.run({
        tokens,
        h_in: new ort.Tensor('float32', h, [L, B, d]),
        c_in: new ort.Tensor('float32', c, [L, B, d]),
      });
    const runTriton = (resets: number[]) =>
      tritonStep.session.run({
        tokens,
        reset: new ort.Tensor('float32', Float32Array.from(resets), [B, 1]),
        h_in: new ort.Tensor('float32', swap01(h, L, B), [B, L, d]),
        c_in: new ort.Tensor('float32', swap01(c, L, B), [B, L, d]),
      });
    const plain = await runPlain(h, c);
    const tri = await runTriton([0, 0, 0]);
    expectClose(tri.logits.data as Float32Array, plain.logits.data as Float32Array);
    expectClose(swap01(tri.h_out.data as Float32Array, B, L), plain.h_out.data as Float32Array);
    expectClose(swap01(tri.c_out.data as Float32Array, B, L), plain.c_out.data as Float32Array);

    // Row 1 reset: same as feeding it a zero state.
    const hz = h.slice();
    const cz = c.slice();
    for (let l = 0; l < L; l++) {
      hz.fill(0, (l * B + 1) * d, (l * B + 2) * d);
      cz.fill(0, (l * B + 1) * d, (l * B + 2) * d);
    }
    const zeroed = await runPlain(hz, cz);
    const reset = await runTriton([0, 1, 0]);
    expectClose(reset.logits.data as Float32Array, zeroed.logits.data as Float32Array);
    expect(V).toBe(10);
  });

  it('a classifier gets only a <name>_sequence model', async () => {
    const dir = tempDir('triton-cls');
    const ckpt = join(dir, 'cls.safetensors');
    await writeCheckpoint(
      ckpt,
      classifierCheckpoint(
        {
          core: 'gru',
          mechanism: 'UR-',
          numLayers: 1,
          inputSize: 1,
          hiddenSize: 8,
          downsize: 4,
          numClasses: 10,
          zoneout: null,
        },
        2,
      ),
    );
    const r = await writeTritonRepository(ckpt, join(dir, 'repo'), { name: 'pixels' });
    expect(r.models).toEqual([join(dir, 'repo', 'pixels_sequence')]);
    expect(readFileSync(join(dir, 'repo', 'pixels_sequence', 'config.pbtxt'), 'utf8')).toMatch(
      /name: "inputs"\s+data_type: TYPE_FP32\s+dims: \[ -1, -1, 1 \]/,
    );
  });

  const missing = onnxCheckerMissing();
  it.skipIf(missing !== null)(
    `the repository's models pass python3-onnx's full check${missing ? ` (skipped: ${missing})` : ''}`,
    () => {
      expect(
        onnxCheck([
          join(repo, 'urlstm_step', '1', 'model.onnx'),
          join(repo, 'urlstm_sequence', '1', 'model.onnx'),
        ]),
      ).toEqual([]);
    },
  );
});
