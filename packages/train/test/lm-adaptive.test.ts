// A language model with an adaptive softmax, trained, exported and read back: the ONNX sequence
// graph scores the test split with the trainer's exact NLL, the step graph gives the trainer's
// full next-token log-distribution, generation samples from it; a vocabulary not sorted by
// frequency is refused.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { nativeAvailable } from '@urgate/kernels/native';
import { exportCheckpoint } from '@urgate/onnx';
import { generate, openModel, stepRows, zeroRowState } from '@urgate/onnx/runtime';
import { onnxCheck, onnxCheckerMissing } from '@urgate/test-checks';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { checkFrequencySorted } from '../src/lm/adaptive-softmax.js';
import { resolveLmConfig } from '../src/lm/config.js';
import { cacheTokenizer } from '../src/lm/data.js';
import { loadLmCheckpoint } from '../src/lm/load.js';
import { lmForward, type ReferenceLm } from '../src/lm/reference.js';
import { LM_FILES, trainLm } from '../src/lm/trainer.js';
import { onnxTestNll } from './onnx-scoring.js';

// Words of very different frequencies, so that every cluster of cutoffs 4, 9 is used.
const LINE = 'the cat sat on the mat . the dog ran to the cat . a red bird flew over the house .';
function article(title: string, lines: number): string {
  return ` \n = ${title} = \n \n${` ${LINE} \n \n`.repeat(lines)}`;
}

async function corpus(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'urgate-adaptive-'));
  writeFileSync(join(dir, 'wiki.train.tokens'), article('One', 20) + article('Two', 20));
  writeFileSync(join(dir, 'wiki.valid.tokens'), article('Three', 2));
  writeFileSync(join(dir, 'wiki.test.tokens'), article('Four', 2) + article('Five', 1));
  await prepareCorpus({ dataDir: dir, cacheDir: join(dir, 'cache'), tokenizer: { kind: 'word' } });
  return dir;
}

describe.skipIf(!nativeAvailable)('language model with an adaptive softmax', () => {
  it.each([
    ['tied shortlist', true],
    ['untied', false],
  ])('%s: trainer, ONNX sequence and step graphs agree; generate samples', async (_, tied) => {
    const dir = await corpus();
    const cache = join(dir, 'cache');
    const out = join(dir, 'run');
    const config = resolveLmConfig({
      hiddenSize: 12,
      bptt: 8,
      batchSize: 4,
      steps: 6,
      lr: 1e-2,
      dropout: 0,
      evalEvery: 1000,
      checkpointEvery: 1000,
      tiedEmbeddings: tied,
      adaptiveSoftmax: [4, 9],
      tailDiv: 2,
    });
    const result = await trainLm(config, { cacheDir: cache, outDir: out, progress: null });
    const files = await exportCheckpoint(join(out, LM_FILES.model), join(dir, 'onnx'), {
      name: 'lm',
    });

    // sequence graph: the test split's NLL, as the trainer's native scoring gave it
    const nll = await onnxTestNll(cache, files.sequence);
    const tokenizer = await cacheTokenizer(cache);
    const ours = result.test?.totalNll as number;
    expect(Math.abs(nll - ours) / ours).toBeLessThan(1e-5);

    // step graph: the full next-token log-distribution of the trainer's tfjs reference
    const step = await openModel(files.step as string);
    const { model } = await loadLmCheckpoint(join(out, LM_FILES.model), 'reference');
    const arch = model.arch;
    const V = arch.vocabSize;
    const params = (model as ReferenceLm).paramTensors();
    const prompt = [tokenizer.eosId, 2, 5, 11];
    const state = zeroRowState(step);
    let refState = model.zeroState(1).map((s) => ({
      h: tf.tensor2d(s.h, [1, arch.hiddenSize]),
      ...(s.c ? { c: tf.tensor2d(s.c, [1, arch.hiddenSize]) } : {}),
    }));
    for (const token of prompt) {
      const onnx = await stepRows(step, [token], [state]);
      const ref = tf.tidy(() => {
        const r = lmForward(
          arch,
          params,
          { steps: 1, batch: 1, inputs: Int32Array.of(token), resets: new Uint8Array(1) },
          refState,
          null,
        );
        refState = r.state.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) }));
        return r.logits.dataSync();
      });
      expect(onnx.length).toBe(V);
      let mass = 0;
      onnx.forEach((lp, w) => {
        expect(Math.abs(lp - ref[w])).toBeLessThan(1e-5 + 1e-5 * Math.abs(ref[w]));
        mass += Math.exp(lp);
      });
      expect(mass).toBeCloseTo(1, 5);
    }
    // both graphs pass onnx's full checker
    if (onnxCheckerMissing() === null)
      expect(onnxCheck([files.sequence, files.step as string])).toEqual([]);
    const sampled = await generate(step, [[tokenizer.eosId]], { maxTokens: 20, seed: 3 });
    expect(sampled[0]).toHaveLength(20);
    expect(sampled[0].every((t) => Number.isInteger(t) && t >= 0 && t < V)).toBe(true);
  });

  it('stopped and resumed (with dropout), the run ends with the files of an uninterrupted one', async () => {
    const dir = await corpus();
    const config = resolveLmConfig({
      hiddenSize: 8,
      bptt: 6,
      batchSize: 3,
      steps: 12,
      dropout: 0.2,
      evalEvery: 5,
      checkpointEvery: 4,
      adaptiveSoftmax: [4, 9],
      tailDiv: 2,
    });
    const base = { cacheDir: join(dir, 'cache'), progress: null, test: false } as const;
    await trainLm(config, { ...base, outDir: join(dir, 'whole') });
    await trainLm(config, { ...base, outDir: join(dir, 'split'), stopAfter: 6 });
    await trainLm(config, { ...base, outDir: join(dir, 'split'), resume: true });
    for (const file of [LM_FILES.checkpoint, LM_FILES.model, LM_FILES.metrics])
      expect(
        readFileSync(join(dir, 'split', file)).equals(readFileSync(join(dir, 'whole', file))),
        file,
      ).toBe(true);
    await expect(
      trainLm(resolveLmConfig({ ...config, adaptiveSoftmax: [4, 10] }), {
        ...base,
        outDir: join(dir, 'split'),
        resume: true,
      }),
    ).rejects.toThrow(/--resume: .*adaptiveSoftmax/);
  });

  it('refuses a vocabulary not sorted by train frequency, in one line naming the pair', () => {
    const ids = Int32Array.of(0, 1, 2, 2, 2, 3, 4, 4, 1);
    // <unk> (0) and <eos> (1) are placed first whatever their counts: only 2.. must descend
    expect(() => checkFrequencySorted(ids, 5, [0, 1], 'cache')).toThrow(
      /^cache: the adaptive softmax needs a vocabulary sorted by decreasing frequency, but on the train split id 4 occurs 2 times and id 3 before it 1 times: /,
    );
    expect(() => checkFrequencySorted(Int32Array.of(2, 2, 3, 3, 4), 5, [0, 1], 'c')).not.toThrow();
  });
});
