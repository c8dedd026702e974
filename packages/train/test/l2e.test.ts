import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { L2E_TENSORS, loadCheckpoint } from '@urgate/contract';
import { arenaView, nativeAvailable } from '@urgate/kernels/native';
import {
  DEEPMIND_VOCABULARY,
  DeepMindCurriculum,
  deepMindBatch,
} from '@urgate/learning-to-execute';
import { describe, expect, it } from 'vitest';
import { type L2eRunInput, resolveL2eRunConfig } from '../src/l2e/config.js';
import { type L2eBatch, l2eAlphabet, l2eBatch, openL2eData } from '../src/l2e/data.js';
import { scoreLogits } from '../src/l2e/score.js';
import { L2E_FILES, trainL2e } from '../src/l2e/trainer.js';
import { createL2eTraining, type L2eTraining } from '../src/l2e/training.js';
import { readMetrics } from '../src/metrics.js';

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `urgate-l2e-${name}-`));
const deepmind = l2eAlphabet('deepmind');
const V = DEEPMIND_VOCABULARY.length;
const id = (c: string) => deepmind.id(c);

const tiny: L2eRunInput = {
  length: 2,
  nesting: 2,
  hiddenSize: 8,
  batchSize: 4,
  steps: 6,
  evalEvery: 2,
  evalSize: 1,
  checkpointEvery: 100,
};

describe('l2e settings', () => {
  it('defaults: DeepMind grammar, program task, mix curriculum, UR-LSTM, batch 128, lr 1e-3', () => {
    const c = resolveL2eRunConfig({});
    expect(c).toMatchObject({
      grammar: 'deepmind',
      programTask: 'all',
      curriculum: 'mix',
      core: 'lstm',
      mechanism: 'UR-',
      batchSize: 128,
      lr: 1e-3,
      clip: 1,
    });
  });

  for (const [input, message] of [
    [{ grammar: 'python' }, '--grammar: expected one of deepmind, zaremba, got "python"'],
    [
      { programTask: 'sort' },
      '--program-task: expected one of addition, control, all, algebra, alg-ctrl, copy, double, reverse, got "sort"',
    ],
    [{ length: 10 }, '--length: expected an integer in [1, 9], got 10'],
    [{ length: 0, grammar: 'zaremba' }, '--length: expected an integer in [1, 9], got 0'],
    [{ nesting: 11, grammar: 'zaremba' }, '--nesting: expected an integer in [1, 10], got 11'],
    [
      { nesting: 2, programTask: 'copy' },
      '--nesting: expected an integer in [1, 1] (the copy task has one operation), got 2',
    ],
    [
      { curriculum: 'combined' },
      '--curriculum: expected one of baseline, naive, mix, combine, got "combined"',
    ],
    [
      { curriculum: 'combine', grammar: 'zaremba' },
      '--curriculum: expected one of baseline, naive, mix, combined, got "combine"',
    ],
    [
      { core: 'rmc', mechanism: 'O-' },
      '--mechanism: expected one of -, C-, OM-, U-, UR-, got "O-"',
    ],
    [{ core: 'transformer' }, '--core: expected one of lstm, gru, rmc, got "transformer"'],
  ] as [L2eRunInput, string][])
    it(`rejects ${JSON.stringify(input)} with one line naming the flag`, () => {
      expect(() => resolveL2eRunConfig(input)).toThrow(message);
    });
});

describe('l2e batches', () => {
  it('lay out program, start symbol and shifted target; only target characters are scored', () => {
    const b = l2eBatch(deepmind, [
      { program: '12+3', target: '15' },
      { program: '7', target: '7' },
    ]);
    const pad = id('.');
    // Stream, time-major: sample 0 "12+3" "~1", sample 1 "7" "~", padded to 6 steps.
    const column = (k: number) => Array.from({ length: b.steps }, (_, t) => b.stream[t * 2 + k]);
    expect(b.steps).toBe(6);
    expect(column(0)).toEqual(['1', '2', '+', '3', '~', '1'].map(id));
    expect(column(1)).toEqual([id('7'), id('~'), pad, pad, pad, pad]);
    expect(Array.from(b.targetRows)).toEqual([4 * 2 + 0, 5 * 2 + 0, 1 * 2 + 1]);
    expect(Array.from(b.targets)).toEqual(['1', '5', '7'].map(id));
    expect(Array.from(b.targetOffsets)).toEqual([0, 2, 3]);
    // Encoder-decoder view.
    expect(Array.from(b.programLengths)).toEqual([4, 1]);
    expect(Array.from(b.decoderInputs)).toEqual([id('~'), id('~'), id('1'), pad]);
  });

  it('the decoder inputs are those of the generator (start symbol, target shifted by one)', () => {
    const curriculum = new DeepMindCurriculum({ kind: 'mix', maxLength: 3, maxNesting: 2 });
    const g = deepMindBatch({ seed: 3, step: 1, batchSize: 5, curriculum, split: 'train' });
    const b = l2eBatch(deepmind, g.samples);
    for (let s = 0; s < 5; s++)
      for (let t = 0; t < g.targetLengths[s]; t++) {
        expect(b.decoderInputs[t * 5 + s]).toBe(g.decoderInputs[t * g.batchSize + s]);
        expect(b.program[0 * 5 + s]).toBe(g.inputs[s]);
      }
  });

  it('are a pure function of (seed, step): the same whatever was drawn before', () => {
    const config = resolveL2eRunConfig({ ...tiny, batchSize: 16 });
    const a = openL2eData(config);
    const b = openL2eData(config);
    for (let s = 0; s < 5; s++) b.trainBatch(s);
    expect(b.trainBatch(7)).toEqual(a.trainBatch(7));
    expect(b.trainBatch(8).samples).not.toEqual(a.trainBatch(7).samples);
    const other = openL2eData(resolveL2eRunConfig({ ...tiny, batchSize: 16, seed: 1 }));
    expect(other.trainBatch(7).samples).not.toEqual(a.trainBatch(7).samples);
  });

  it('held-out programs are test-split programs at the hardest level, disjoint from training', () => {
    const config = resolveL2eRunConfig({ ...tiny, length: 3, batchSize: 64, evalSize: 2 });
    const data = openL2eData(config);
    const test = new Set(data.testBatches().flatMap((b) => b.samples.map((s) => s.program)));
    // Every literal has `length` digits (the loop counts [k] are not literals).
    for (const program of test)
      expect(
        program
          .replace(/\[\d\]/g, '')
          .match(/\d+/g)
          ?.every((n) => n.length === 3),
      ).toBe(true);
    for (let s = 0; s < 10; s++)
      for (const sample of data.trainBatch(s).samples) expect(test.has(sample.program)).toBe(false);
  });

  it('accuracy counts target characters only, and a program only when all of them are right', () => {
    const b = l2eBatch(deepmind, [
      { program: '12+3', target: '15' },
      { program: '7', target: '7' },
    ]);
    // Row k predicts `guess[k]`: sample 0 gets '1' right and '5' wrong, sample 1 is right.
    const logits = (guess: string[]) => {
      const out = new Float32Array(guess.length * V);
      guess.forEach((c, k) => {
        out[k * V + id(c)] = 1;
      });
      return out;
    };
    expect(scoreLogits(logits(['1', '4', '7']), b)).toEqual({
      correct: 2,
      chars: 3,
      solved: 1,
      programs: 2,
    });
    expect(scoreLogits(logits(['1', '5', '7']), b)).toMatchObject({ correct: 3, solved: 2 });
  });
});

async function weights(dir: string) {
  const { tensors } = await loadCheckpoint(join(dir, L2E_FILES.model));
  return Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, Array.from(t.data)]));
}

describe.skipIf(!nativeAvailable)('l2e model and trainer', () => {
  const config = resolveL2eRunConfig(tiny);
  const batch = openL2eData(config).trainBatch(0);
  const training = (input: L2eRunInput, engine: 'native' | 'reference') =>
    createL2eTraining(resolveL2eRunConfig({ ...input, engine }), V);

  const lossAndLogits = (model: L2eTraining, b: L2eBatch) => {
    const out = model.evaluate(b);
    return [out.loss, Array.from(out.logits)] as const;
  };

  for (const engine of ['native', 'reference'] as const) {
    it(`the loss ignores padding: what the padded positions hold changes nothing (${engine})`, async () => {
      const model = await training(tiny, engine);
      const noisy = { ...batch, stream: batch.stream.slice() };
      const used = new Set<number>();
      batch.samples.forEach((s, b) => {
        for (let t = 0; t < s.program.length + s.target.length; t++)
          used.add(t * batch.batchSize + b);
      });
      for (let r = 0; r < noisy.stream.length; r++) if (!used.has(r)) noisy.stream[r] = (r * 7) % V;
      expect(noisy.stream).not.toEqual(batch.stream);
      expect(lossAndLogits(model, noisy)).toEqual(lossAndLogits(model, batch));
      model.dispose();
    });

    it(`a zero decoder head gives loss log(vocabulary) exactly (${engine})`, async () => {
      const model = await training(tiny, engine);
      arenaView(model.model, L2E_TENSORS.outputW).fill(0);
      model.model.paramsWritten?.();
      const [loss] = lossAndLogits(model, batch);
      expect(loss).toBeCloseTo(Math.log(V), 6);
      model.dispose();
    });
  }

  it('a tiny model overfits a fixed tiny program set to 100% character and program accuracy', async () => {
    const set = l2eBatch(deepmind, [
      { program: '3+5', target: '8' },
      { program: '9+9', target: '18' },
      { program: '4+7', target: '11' },
      { program: '2+2', target: '4' },
      { program: '6+8', target: '14' },
      { program: '1+5', target: '6' },
    ]);
    const model = await training({ ...tiny, hiddenSize: 32 }, 'native');
    for (let step = 0; step < 150; step++) {
      model.gradients(set);
      model.model.adamUpdate({ lr: 0.02, clipNorm: 1 });
    }
    expect(scoreLogits(model.evaluate(set).logits, set)).toEqual({
      correct: 9,
      chars: 9,
      solved: 6,
      programs: 6,
    });
  });

  for (const [label, input] of [
    ['DeepMind grammar, naive curriculum, UR-LSTM', { ...tiny, curriculum: 'naive' }],
    [
      'Zaremba grammar, combined curriculum, GRU',
      { ...tiny, grammar: 'zaremba', curriculum: 'combined', core: 'gru', mechanism: '-' },
    ],
    [
      'RMC, UR- gates',
      { ...tiny, hiddenSize: undefined, core: 'rmc', memSlots: 2, headSize: 4, numHeads: 2 },
    ],
  ] as [string, L2eRunInput][])
    it(`an interrupted and resumed run ends bit-exact with the uninterrupted one (${label})`, async () => {
      const c = resolveL2eRunConfig(input);
      const whole = fresh('whole');
      const split = fresh('split');
      await trainL2e(c, { outDir: whole, progress: null });
      const partial = await trainL2e(c, { outDir: split, progress: null, stopAfter: 3 });
      expect(partial.steps).toBe(3);
      const resumed = await trainL2e(c, { outDir: split, progress: null, resume: true });
      expect(resumed.steps).toBe(c.steps);
      expect(await weights(split)).toEqual(await weights(whole));
      const records = readMetrics(join(whole, L2E_FILES.metrics));
      expect(readMetrics(join(split, L2E_FILES.metrics))).toEqual(records);
      const evals = records.filter((r) => r.kind === 'eval');
      expect(evals.map((r) => r.step)).toEqual([2, 4, 6]);
      for (const e of evals) {
        expect(e.charAccuracy).toBeGreaterThanOrEqual(0);
        expect(e.programAccuracy).toBeLessThanOrEqual(e.charAccuracy as number);
        expect(e).toHaveProperty('length');
        expect(e).toHaveProperty('nesting');
      }
    });

  it('a resumed run refuses a checkpoint made with other settings', async () => {
    const out = fresh('mismatch');
    await trainL2e(config, { outDir: out, progress: null, stopAfter: 1 });
    await expect(
      trainL2e(resolveL2eRunConfig({ ...tiny, nesting: 3 }), {
        outDir: out,
        progress: null,
        resume: true,
      }),
    ).rejects.toThrow(/^--resume: .* was trained with nesting 2, this run has 3/);
  });

  it('a poisoned learning rate ends the run as "diverged", recorded, without throwing', async () => {
    const result = await trainL2e(resolveL2eRunConfig({ ...tiny, lr: 1e38 }), {
      outDir: fresh('diverge'),
      progress: null,
    });
    expect(result.outcome).toBe('diverged');
    expect(result.divergence?.reason).toMatch(/^(loss|gradient norm) is (NaN|Infinity)$/);
  });
});
