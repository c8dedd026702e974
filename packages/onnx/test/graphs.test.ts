import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CORES, type Core, MECHANISMS, type Mechanism } from '@urgate/contract';
import { SeededRandom } from '@urgate/random';
import { onnxCheck, onnxCheckerMissing } from '@urgate/test-checks';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCheckpoint } from '../src/index.js';
import { classify, openModel, type UrgateModel } from '../src/runtime/index.js';
import {
  type Checkpoint,
  classifierCheckpoint,
  lmCheckpoint,
  type TinyLm,
  writeCheckpoint,
} from './fixtures.js';
import { expectClose, tempDir } from './helpers.js';
import {
  type RefState,
  referenceClassifier,
  referenceForget,
  referenceSequence,
  referenceStep,
  stackState,
  unstackState,
} from './reference.js';

const dir = tempDir('graphs');
const exported: string[] = [];
afterAll(() => tf.disposeVariables());

function tinyLm(core: Core, mechanism: Mechanism, i: number): TinyLm {
  const tied = i % 3 === 0;
  return {
    core,
    mechanism,
    numLayers: 2,
    vocabSize: 11,
    embeddingSize: tied ? 8 : 6,
    hiddenSize: 8,
    downsize: 4,
    layerNorm: i % 2 === 0,
    tiedEmbeddings: tied,
    fixedGateOffset: mechanism === 'U-' || mechanism === 'UR-' || mechanism === 'UM-',
    zoneout: i % 4 === 1 ? { c: 0.25, h: 0.1 } : null,
  };
}

function randomState(rng: SeededRandom, L: number, B: number, d: number): Float32Array {
  return Float32Array.from({ length: L * B * d }, () => rng.uniform(-0.8, 0.8));
}

const ints = (rng: SeededRandom, n: number, below: number) =>
  Array.from({ length: n }, () => Math.floor(rng.next() * below));

interface Opened {
  ckpt: Checkpoint;
  step: UrgateModel;
  sequence: UrgateModel;
  gates: UrgateModel;
}

describe.each(
  CORES.flatMap((core, ci) =>
    MECHANISMS.map((mechanism, mi) => ({ core, mechanism, i: ci * MECHANISMS.length + mi })),
  ),
)('$core $mechanism language model', ({ core, mechanism, i }) => {
  const m = tinyLm(core, mechanism, i);
  const L = m.numLayers;
  const d = m.hiddenSize;
  const B = 3;
  const lstm = core === 'lstm';
  let o: Opened;

  beforeAll(async () => {
    const ckpt = lmCheckpoint(m, 100 + i);
    const path = join(dir, `${core}${mechanism}.safetensors`);
    await writeCheckpoint(path, ckpt);
    const files = await exportCheckpoint(path, dir);
    exported.push(files.sequence, files.step as string, files.gates as string);
    o = {
      ckpt,
      step: await openModel(files.step as string),
      sequence: await openModel(files.sequence),
      gates: await openModel(files.gates as string),
    };
  });
  afterAll(async () => {
    await o.step.close();
    await o.sequence.close();
    await o.gates.close();
  });

  /** A random initial state, as the graphs' feeds and as the reference's state. */
  const randomStart = (rng: SeededRandom) => {
    const h0 = randomState(rng, L, B, d);
    const c0 = randomState(rng, L, B, d);
    const feeds: Record<string, ort.Tensor> = { h_in: new ort.Tensor('float32', h0, [L, B, d]) };
    if (lstm) feeds.c_in = new ort.Tensor('float32', c0, [L, B, d]);
    const ref: RefState = {
      h: unstackState(h0, L, B, d),
      c: lstm ? unstackState(c0, L, B, d) : null,
    };
    return { feeds, ref };
  };

  it('step graph matches the reference over several calls carrying the state', async () => {
    const rng = new SeededRandom(7 + i);
    let { feeds, ref } = randomStart(rng);
    for (let t = 0; t < 4; t++) {
      const tokens = ints(rng, B, m.vocabSize);
      const r = await o.step.session.run({
        ...feeds,
        tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [B]),
      });
      const expected = referenceStep(o.ckpt, tokens, ref);
      expectClose(r.logits.data as Float32Array, expected.logits.dataSync());
      expectClose(r.h_out.data as Float32Array, stackState(expected.state.h));
      if (lstm)
        expectClose(r.c_out.data as Float32Array, stackState(expected.state.c as tf.Tensor2D[]));
      expect(r.h_out.dims).toEqual([L, B, d]);
      ref = expected.state;
      feeds = lstm ? { h_in: r.h_out, c_in: r.c_out } : { h_in: r.h_out };
    }
  });

  it('sequence graph matches the reference across chunks, with resets', async () => {
    const rng = new SeededRandom(31 + i);
    let { feeds, ref } = randomStart(rng);
    for (const T of [4, 3]) {
      const tokens = Array.from({ length: T }, () => ints(rng, B, m.vocabSize));
      const targets = Array.from({ length: T }, () => ints(rng, B, m.vocabSize));
      // Row 1 restarts at step 2 and row 2 at step 0 of every chunk; row 0 never does.
      const reset = Array.from({ length: T }, (_, t) => [0, t === 2 ? 1 : 0, t === 0 ? 1 : 0]);
      const r = await o.sequence.session.run({
        ...feeds,
        tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.flat().map(BigInt)), [T, B]),
        targets: new ort.Tensor('int64', BigInt64Array.from(targets.flat().map(BigInt)), [T, B]),
        reset: new ort.Tensor('float32', Float32Array.from(reset.flat()), [T, B]),
      });
      const expected = referenceSequence(o.ckpt, tokens, targets, reset, ref);
      expect(r.nll.dims).toEqual([T, B]);
      expectClose(r.nll.data as Float32Array, expected.nll.dataSync());
      expectClose(r.h_out.data as Float32Array, stackState(expected.state.h));
      if (lstm)
        expectClose(r.c_out.data as Float32Array, stackState(expected.state.c as tf.Tensor2D[]));
      ref = expected.state;
      feeds = lstm ? { h_in: r.h_out, c_in: r.c_out } : { h_in: r.h_out };
    }
  });

  it("gates graph gives the cells' effective forget gate of every layer, step and unit", async () => {
    const rng = new SeededRandom(53 + i);
    const T = 5;
    const h0 = randomState(rng, L, B, d);
    const c0 = randomState(rng, L, B, d);
    const feeds: Record<string, ort.Tensor> = { h_in: new ort.Tensor('float32', h0, [L, B, d]) };
    if (lstm) feeds.c_in = new ort.Tensor('float32', c0, [L, B, d]);
    const tokens = Array.from({ length: T }, () => ints(rng, B, m.vocabSize));
    const r = await o.gates.session.run({
      ...feeds,
      tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.flat().map(BigInt)), [T, B]),
    });
    const expected = referenceForget(o.ckpt, tokens, {
      h: unstackState(h0, L, B, d),
      c: lstm ? unstackState(c0, L, B, d) : null,
    });
    expect(r.forget.dims).toEqual([L, T, B, d]);
    expectClose(r.forget.data as Float32Array, tf.stack(expected.flat()).dataSync());
    // The gate differs between units and steps: the comparison is not of constants.
    const values = r.forget.data as Float32Array;
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.01);
    expect(o.gates.metadata.graph).toBe('lm-gates');
  });

  it('records the checkpoint description in the urgate metadata', () => {
    expect(o.step.metadata.graph).toBe('lm-step');
    expect(o.sequence.metadata.graph).toBe('lm-sequence');
    expect(o.step.metadata.model).toMatchObject({
      kind: 'lm',
      core,
      mechanism,
      numLayers: L,
      vocabSize: m.vocabSize,
    });
    expect(o.step.metadata.tokenizer).toEqual({ type: 'word', vocabulary: 'vocab.txt' });
    expect(o.step.metadata.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is an opset-17, IR-8 model', () => {
    for (const path of [o.step.path, o.sequence.path, o.gates.path]) {
      const model = onnxProto.onnx.ModelProto.decode(readFileSync(path));
      expect(Number(model.irVersion)).toBe(8);
      expect(model.opsetImport.map((x) => [x.domain, Number(x.version)])).toEqual([['', 17]]);
    }
  });
});

describe.each([
  { core: 'lstm' as Core, mechanism: 'UR-' as Mechanism, zoneout: { c: 0.2, h: 0.3 } },
  { core: 'gru' as Core, mechanism: 'OM-' as Mechanism, zoneout: null },
])('$core $mechanism classifier', ({ core, mechanism, zoneout }) => {
  it('sequence graph matches the reference', async () => {
    const m = {
      core,
      mechanism,
      numLayers: 2,
      inputSize: 3,
      hiddenSize: 8,
      downsize: 4,
      numClasses: 4,
      zoneout,
    };
    const ckpt = classifierCheckpoint(m, 5);
    const path = join(dir, `cls-${core}${mechanism}.safetensors`);
    await writeCheckpoint(path, ckpt);
    const files = await exportCheckpoint(path, dir);
    expect(files.step).toBeNull();
    exported.push(files.sequence);
    const model = await openModel(files.sequence);
    const rng = new SeededRandom(3);
    const [T, B] = [6, 2];
    const data = Float32Array.from({ length: T * B * 3 }, () => rng.uniform(-1, 1));
    const logits = await classify(model, data, [T, B, 3]);
    expect(logits.length).toBe(B * 4);
    expectClose(logits, referenceClassifier(ckpt, tf.tensor3d(data, [T, B, 3])).dataSync());
    await expect(classify(model, data, [T, B, 2])).rejects.toThrow(
      'classify: the model reads 3 channels per step, got dims [6,2,2]',
    );
    await model.close();
  });
});

describe('ONNX checker', () => {
  const missing = onnxCheckerMissing();
  it.skipIf(missing !== null)(
    `every exported file passes python3-onnx's full check${missing ? ` (skipped: ${missing})` : ''}`,
    () => {
      expect(exported.length).toBe(3 * CORES.length * MECHANISMS.length + 2);
      expect(onnxCheck(exported)).toEqual([]);
    },
  );
});
