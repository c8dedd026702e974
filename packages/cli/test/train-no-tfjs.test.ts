// `urgate train copy` and `urgate train l2e` on the native engine train the task and l2e models as
// one native object each: their processes never load tfjs or the tfjs cells (recorded by a module
// hook in a child process, as for the language model). The reference engine does load them; both record their engine, and
// they agree on the first loss.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels/native';
import { describe, expect, it } from 'vitest';
import { expectNativeEngineWithoutTfjs } from './child-modules.js';

describe.skipIf(!nativeAvailable)('urgate train <task> without tfjs', () => {
  it('the native engine loads no tfjs and no tfjs cells; the reference engine does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-train-no-tfjs-'));
    const stdout = expectNativeEngineWithoutTfjs(
      dir,
      (engine, out) => [
        ...['train', 'copy', '--out', out, '--engine', engine, '--no-progress'],
        ...['--length', '3', '--hidden-size', '6', '--batch-size', '4', '--steps', '3'],
        ...['--eval-every', '3', '--eval-size', '1'],
      ],
      '/packages/kernels/src/task-model.ts',
    );
    expect(stdout.native).toContain('seed 0 (native engine)');
  }, 120_000);

  it.each([
    ['LSTM', ['--core', 'lstm', '--hidden-size', '6', '--layers', '2']],
    ['RMC', ['--core', 'rmc', '--mem-slots', '2', '--head-size', '3', '--num-heads', '2']],
  ])(
    'urgate train l2e (%s core): the native engine loads no tfjs; the reference engine does',
    (_, core) => {
      const dir = mkdtempSync(join(tmpdir(), 'urgate-train-l2e-no-tfjs-'));
      const stdout = expectNativeEngineWithoutTfjs(
        dir,
        (engine, out) => [
          ...['train', 'l2e', '--out', out, '--engine', engine, '--no-progress', ...core],
          ...['--length', '2', '--nesting', '1', '--batch-size', '3', '--steps', '2'],
          ...['--eval-every', '2', '--eval-size', '1'],
        ],
        '/packages/kernels/src/l2e-model.ts',
      );
      expect(stdout.native).toContain('(native engine)');
    },
    120_000,
  );
});
