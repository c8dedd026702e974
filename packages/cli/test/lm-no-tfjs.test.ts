// `urgate lm train` on the native engine runs the language model as one native object: its
// process never loads tfjs or the tfjs cells (recorded by a module hook in a child process, as
// serve's and the exporter's tests do). The reference engine, by contrast, does load them, and
// both record their engine in the run's result.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { expectNativeEngineWithoutTfjs } from './child-modules.js';

const SENTENCE = 'the cat sat on the mat . the dog ran to the cat .';
const article = (title: string) =>
  ` \n = ${title} = \n \n${Array.from({ length: 4 }, () => ` ${SENTENCE} \n \n`).join('')}`;

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

    const stdout = expectNativeEngineWithoutTfjs(
      dir,
      (engine, out) => [
        ...['lm', 'train', '--cache', join(dir, 'cache'), '--out', out, '--engine', engine],
        ...['--hidden-size', '8', '--bptt', '4', '--batch-size', '2', '--steps', '3'],
      ],
      '/packages/kernels/src/lm-model.ts',
    );
    expect(stdout.native).toMatch(/^UR-LSTM \(native engine\): 3 steps/);
  }, 120_000);
});
