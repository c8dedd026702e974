// A run started before the LM became one native object (commit b6fdfc0: tf.Variables, FusedAdam,
// the whole-model step as a tfjs custom op) resumes after it bit for bit. The fixtures were
// written by that code: the training state and metrics of a run stopped after 8 of 30 steps, and
// the files of the same run uninterrupted. Resumed here, the run must write the same metrics
// (losses, gradient norms, validation) and the same final parameters and Adam moments.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { type LmConfigInput, resolveLmConfig } from '../src/lm/config.js';
import { LM_FILES, trainLm } from '../src/lm/trainer.js';
import { expectFixtureRun, resumeFromFixture } from './same-tensors.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'pre-native-lm');
const SENTENCE = 'the cat sat on the mat . the dog ran to the cat .';
const article = (title: string, lines: number) =>
  ` \n = ${title} = \n \n${Array.from({ length: lines }, () => ` ${SENTENCE} \n \n`).join('')}`;

// The corpus cache path is part of the recorded config (a resume checks it), so the cache is
// rebuilt where the fixture run had it.
async function corpus(dir: string): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'wiki.train.tokens'), article('One', 6) + article('Two', 6));
  writeFileSync(join(dir, 'data', 'wiki.valid.tokens'), article('Three', 2));
  writeFileSync(join(dir, 'data', 'wiki.test.tokens'), article('Four', 2));
  const cacheDir = join(dir, 'cache');
  await prepareCorpus({ dataDir: join(dir, 'data'), cacheDir, tokenizer: { kind: 'word' } });
  return cacheDir;
}

const common = {
  hiddenSize: 8,
  bptt: 6,
  batchSize: 3,
  steps: 30,
  dropout: 0.2,
  evalEvery: 7,
  checkpointEvery: 5,
};
const cases: [string, string, LmConfigInput][] = [
  ['tied', '/tmp/urgate-pre-native-lm', common],
  [
    'untied-norm',
    '/tmp/urgate-pre-native-lm2',
    { ...common, numLayers: 2, layerNorm: true, tiedEmbeddings: false, embeddingSize: 6 },
  ],
];

describe.skipIf(!nativeAvailable)('resume of a run written before the native LM object', () => {
  it.each(cases)(
    '%s: the resumed run equals the uninterrupted pre-change run',
    async (name, dir, input) => {
      const fixture = join(FIXTURES, name);
      const cacheDir = await corpus(dir);
      const out = join(dir, 'resumed');
      resumeFromFixture(fixture, 8, out, LM_FILES);
      const r = await trainLm(resolveLmConfig(input), {
        cacheDir,
        outDir: out,
        resume: true,
        progress: null,
      });
      const whole = await expectFixtureRun(fixture, out, LM_FILES);
      expect(r.valid).toEqual(whole.valid);
      expect(r.test).toEqual(whole.test);
      expect(r.config.engine).toBe('native');
    },
  );
});
