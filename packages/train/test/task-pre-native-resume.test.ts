// A task run started before the task models became one native object (main at eb7e7ea:
// tf.Variables, FusedAdam, tfjs autodiff over the native ops) resumes after it bit for bit. The
// fixtures were written by that code: the training state and metrics of a run stopped after 4 of
// 10 steps, and the files of the same run uninterrupted. Resumed here, the run must write the same
// metrics (losses, gradient norms, evaluations) and the same final parameters and Adam moments.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { describe, expect, it } from 'vitest';
import { resolveTaskRunConfig, type TaskRunInput } from '../src/tasks/config.js';
import { RUN_FILES, trainTask } from '../src/tasks/trainer.js';
import { expectFixtureRun, resumeFromFixture } from './same-tensors.js';
import { tinyDataset } from './tiny-dataset.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'pre-native-task');
const every = { steps: 10, evalEvery: 3, checkpointEvery: 4 };
const cases: [string, TaskRunInput][] = [
  [
    'copy',
    { task: 'copy', length: 4, hiddenSize: 8, numLayers: 2, batchSize: 4, evalSize: 1, ...every },
  ],
  [
    'adding',
    {
      task: 'adding',
      core: 'gru',
      mechanism: 'OM-',
      downsize: 4,
      length: 5,
      hiddenSize: 8,
      batchSize: 5,
      evalSize: 1,
      ...every,
    },
  ],
  [
    'classifier',
    { task: 'sfmnist', hiddenSize: 6, zoneout: true, batchSize: 6, evalSize: 6, ...every },
  ],
];

describe.skipIf(!nativeAvailable)(
  'resume of a task run written before the native task object',
  () => {
    it.each(cases)(
      '%s: the resumed run equals the uninterrupted pre-change run',
      async (name, input) => {
        const fixture = join(FIXTURES, name);
        const out = join(mkdtempSync(join(tmpdir(), `urgate-pre-native-${name}-`)), 'run');
        resumeFromFixture(fixture, 4, out, RUN_FILES);
        const r = await trainTask(resolveTaskRunConfig(input), {
          outDir: out,
          resume: true,
          progress: null,
          dataset: tinyDataset,
        });
        expect(r.config.engine).toBe('native');
        const whole = await expectFixtureRun(fixture, out, RUN_FILES);
        expect({ final: r.final, best: r.best, test: r.test }).toEqual({
          final: whole.final,
          best: whole.best,
          test: whole.test,
        });
      },
    );
  },
);
