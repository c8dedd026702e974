// An l2e run started before the l2e models became one native object (main at f9e79d9:
// tf.Variables, FusedAdam, tfjs autodiff over the native layer, RMC, dense and cross-entropy ops)
// resumes after it bit for bit. The fixtures were written by that code: the training state and
// metrics of a run stopped after 4 of 10 steps, and the files of the same run uninterrupted.
// Resumed here, the run must write the same metrics (losses, gradient norms, evaluations) and
// the same final parameters, Adam moments and RMC gate offsets.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { describe, expect, it } from 'vitest';
import { type L2eRunInput, resolveL2eRunConfig } from '../src/l2e/config.js';
import { L2E_FILES, trainL2e } from '../src/l2e/trainer.js';
import { expectFixtureRun, resumeFromFixture } from './same-tensors.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'pre-native-l2e');
const every = { steps: 10, evalEvery: 3, checkpointEvery: 4, length: 2, nesting: 2, evalSize: 1 };
const cases: [string, L2eRunInput][] = [
  ['lstm', { ...every, hiddenSize: 6, numLayers: 2, batchSize: 4, seed: 3 }],
  [
    'gru',
    { ...every, grammar: 'zaremba', core: 'gru', mechanism: '-', hiddenSize: 5, batchSize: 3 },
  ],
  [
    'rmc',
    {
      ...every,
      core: 'rmc',
      mechanism: 'UR-',
      memSlots: 2,
      headSize: 3,
      numHeads: 2,
      batchSize: 4,
      seed: 1,
    },
  ],
  [
    'rmc-om',
    {
      ...every,
      grammar: 'zaremba',
      core: 'rmc',
      mechanism: 'OM-',
      memSlots: 2,
      headSize: 16,
      numHeads: 2,
      batchSize: 3,
    },
  ],
];

describe.skipIf(!nativeAvailable)(
  'resume of an l2e run written before the native l2e object',
  () => {
    it.each(cases)(
      '%s: the resumed run equals the uninterrupted pre-change run',
      async (name, input) => {
        const fixture = join(FIXTURES, name);
        const out = join(mkdtempSync(join(tmpdir(), `urgate-pre-native-l2e-${name}-`)), 'run');
        resumeFromFixture(fixture, 4, out, L2E_FILES);
        const r = await trainL2e(resolveL2eRunConfig(input), {
          outDir: out,
          resume: true,
          progress: null,
        });
        expect(r.config.engine).toBe('native');
        const whole = await expectFixtureRun(fixture, out, L2E_FILES);
        expect({ final: r.final, best: r.best, level: r.level }).toEqual({
          final: whole.final,
          best: whole.best,
          level: whole.level,
        });
      },
    );
  },
);
