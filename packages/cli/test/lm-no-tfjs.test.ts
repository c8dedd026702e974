// `urgate lm train` on the native engine runs the language model as one native object: its
// process never loads tfjs or the tfjs cells (recorded by a module hook in a child process, as
// serve's and the exporter's tests do). The reference engine, by contrast, does load them, and
// both record their engine in the run's result.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { recordedModules, recordingModules } from '@urgate/source-hooks';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { urgateBin } from './runCommand.js';

const SENTENCE = 'the cat sat on the mat . the dog ran to the cat .';
const article = (title: string) =>
  ` \n = ${title} = \n \n${Array.from({ length: 4 }, () => ` ${SENTENCE} \n \n`).join('')}`;

function trainInChild(dir: string, engine: string) {
  const log = join(dir, `modules-${engine}.log`);
  const recording = recordingModules(log);
  const out = join(dir, engine);
  const child = spawnSync(
    process.execPath,
    [
      ...recording.args,
      urgateBin,
      'lm',
      'train',
      ...['--cache', join(dir, 'cache'), '--out', out, '--engine', engine],
      ...['--hidden-size', '8', '--bptt', '4', '--batch-size', '2', '--steps', '3'],
    ],
    { env: recording.env, encoding: 'utf8' },
  );
  expect(child.status, child.stderr).toBe(0);
  const modules = recordedModules(log);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  return { modules, result, stdout: child.stdout };
}

const TFJS = /@tensorflow|\/packages\/cells\/|@urgate\/cells/;

describe.skipIf(!nativeAvailable)('urgate lm train without tfjs', () => {
  it('the native engine loads no tfjs and no tfjs cells; the reference engine does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-lm-no-tfjs-'));
    for (const split of ['train', 'valid', 'test'])
      writeFileSync(join(dir, `wiki.${split}.tokens`), article(split) + article(`${split} 2`));
    await prepareCorpus({
      dataDir: dir,
      cacheDir: join(dir, 'cache'),
      tokenizer: { kind: 'word' },
    });

    const native = trainInChild(dir, 'native');
    expect(native.modules.some((u) => u.includes('/packages/kernels/src/lm-model.ts'))).toBe(true);
    expect(native.modules.filter((u) => TFJS.test(u))).toEqual([]);
    expect(native.result.config.engine).toBe('native');
    expect(native.stdout).toMatch(/^UR-LSTM \(native engine\): 3 steps/);

    const reference = trainInChild(dir, 'reference');
    expect(reference.modules.some((u) => /@tensorflow/.test(u))).toBe(true);
    expect(reference.result.config.engine).toBe('reference');
    // the same model and data: the engines agree on the first loss to float32 rounding
    const firstLoss = (r: string) =>
      JSON.parse(readFileSync(join(dir, r, 'metrics.jsonl'), 'utf8').split('\n')[0]).loss;
    expect(Math.abs(firstLoss('native') - firstLoss('reference'))).toBeLessThan(1e-5);
  }, 120_000);
});
