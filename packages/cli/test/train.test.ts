import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels';
import type { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepCommand } from '../src/commands/sweep.js';
import { trainCommand } from '../src/commands/train.js';
import { urgateProgram } from '../src/program.js';
import { runCaptured } from './runCommand.js';

afterEach(() => {
  process.exitCode = undefined;
});

describe('urgate train / sweep errors are one line with exit status 1', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'unknown task',
      ['blah'],
      /^urgate train: task: unknown task "blah"; expected one of copy, adding/,
    ],
    [
      'unknown mechanism',
      ['copy', '--mechanism', 'XR-'],
      /^urgate train: mechanism: unknown gate mechanism "XR-"/,
    ],
    [
      'zoneout on a synthetic task',
      ['copy', '--zoneout'],
      /^urgate train: zoneout: only the pixel classification tasks/,
    ],
    [
      'steps and epochs',
      ['sfmnist', '--steps', '5', '--epochs', '1'],
      /^urgate train: steps\/epochs: give one of/,
    ],
    ['MNIST without a directory', ['pmnist'], /^urgate train: data-dir: pmnist needs --data-dir/],
    [
      'an unknown engine',
      ['copy', '--engine', 'gpu'],
      /^urgate train: engine: expected 'native' or 'reference', got "gpu"$/m,
    ],
    [
      'OM- with hidden/C not whole',
      ['copy', '--mechanism', 'OM-', '--hidden-size', '24'],
      /^urgate train: downsize: 16 does not divide hiddenSize 24; mechanism 'OM-'/,
    ],
    [
      'UM- with one master unit (hidden/C = 1)',
      ['copy', '--mechanism', 'UM-', '--hidden-size', '16'],
      /^urgate train: downsize: 'UM-' initialises its 1 master unit\(s\) .* needs hiddenSize\/downsize >= 2$/m,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const { err, status } = await runCaptured(trainCommand(), args);
      expect(err).toMatch(message);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(status).toBe(1);
    });
  }

  it('a bad data file is named in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-bad-mnist-'));
    mkdirSync(dir, { recursive: true });
    for (const name of [
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ])
      writeFileSync(join(dir, name), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    const { err, status } = await runCaptured(trainCommand(), [
      'smnist',
      '--data-dir',
      dir,
      '--out',
      join(dir, 'run'),
    ]);
    expect(err).toMatch(/^urgate train: .*train-images-idx3-ubyte: .*magic/);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(status).toBe(1);
  });

  it('sweep: an unknown mechanism in the list', async () => {
    const { err, status } = await runCaptured(sweepCommand(), [
      'copy',
      '--mechanisms',
      '-,ZZ-',
      '--out',
      mkdtempSync(join(tmpdir(), 'urgate-sw-')),
    ]);
    expect(err).toMatch(/^urgate sweep: mechanisms: /);
    expect(status).toBe(1);
  });

  it('sweep: UM- with hidden/C below 2 is refused in the plan, before any run starts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'urgate-sw-'));
    const { err, status } = await runCaptured(sweepCommand(), [
      'copy',
      '--mechanisms',
      '-,UM-',
      '--hidden-size',
      '16',
      '--out',
      out,
    ]);
    expect(err).toMatch(/^urgate sweep: downsize: 'UM-' initialises its 1 master unit/);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(status).toBe(1);
    expect(existsSync(join(out, 'runs'))).toBe(false);
  });
});

describe.skipIf(!nativeAvailable)('urgate train <task> --engine', () => {
  it('records the engine in the config and result.json; both engines train the same run alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-train-engine-'));
    const tiny = ['--length', '3', '--hidden-size', '6', '--batch-size', '4', '--steps', '3'];
    const more = ['--eval-every', '3', '--eval-size', '1', '--no-progress'];
    const results: Record<string, { config: { engine: string }; final: { loss: number } }> = {};
    for (const engine of ['native', 'reference', undefined]) {
      const out = join(dir, engine ?? 'default');
      const args = ['copy', ...tiny, ...more, '--out', out];
      const { out: stdout, status } = await runCaptured(
        trainCommand(),
        engine === undefined ? args : [...args, '--engine', engine],
      );
      expect(status ?? 0).toBe(0);
      expect(stdout).toContain(`seed 0 (${engine ?? 'native'} engine)`);
      results[engine ?? 'default'] = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    }
    expect(results.native.config.engine).toBe('native');
    expect(results.reference.config.engine).toBe('reference');
    expect(results.default.config.engine).toBe('native');
    const { native, reference } = results;
    expect(Math.abs(native.final.loss - reference.final.loss)).toBeLessThan(
      1e-4 * reference.final.loss,
    );
  });
});

describe('urgate train lm: the language model in the training shape', () => {
  it("options after `train lm` are the LM trainer's, not train's own", async () => {
    const cache = mkdtempSync(join(tmpdir(), 'urgate-train-lm-'));
    // --zoneout is an option of `urgate train` only: after `lm` it is unknown.
    const program = urgateProgram();
    const each = (c: Command): Command[] => [c, ...c.commands.flatMap(each)];
    for (const c of each(program)) c.exitOverride().configureOutput({ writeErr: () => {} });
    await expect(
      program.parseAsync(['train', 'lm', '--cache', cache, '--zoneout'], { from: 'user' }),
    ).rejects.toThrow("unknown option '--zoneout'");
    // The LM trainer's own check of its cache, under the old spelling and the new one.
    for (const args of [
      ['train', 'lm', '--mechanism=-', '--cache', cache],
      ['lm', 'train', '--mechanism=-', '--cache', cache],
    ]) {
      const { err, status } = await runCaptured(urgateProgram(), args);
      expect(err).toBe(
        `urgate lm train: ${join(cache, 'tokenizer.json')} is missing or unreadable: run \`urgate lm prepare --out ${cache}\` first\n`,
      );
      expect(status).toBe(1);
    }
  });
});
