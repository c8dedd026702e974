import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evalCommand } from '../src/commands/eval.js';
import { runExport } from '../src/commands/export.js';
import { trainCommand } from '../src/commands/train.js';
import { runCaptured, runCommand } from './runCommand.js';

afterEach(() => {
  process.exitCode = undefined;
});

describe('urgate train l2e: bad settings are one line naming the flag, before any work', () => {
  for (const [args, message] of [
    [['--length', '12'], '--length: expected an integer in [1, 9], got 12'],
    [
      ['--grammar', 'zaremba', '--nesting', '11'],
      '--nesting: expected an integer in [1, 10], got 11',
    ],
    [['--program-task', 'sorting'], '--program-task: expected one of addition, control, all,'],
    [['--grammar', 'lua'], '--grammar: expected one of deepmind, zaremba, got "lua"'],
    [
      ['--grammar', 'zaremba', '--curriculum', 'combine'],
      '--curriculum: expected one of baseline, naive, mix, combined, got "combine"',
    ],
    [['--zoneout'], '--zoneout: not an option of the l2e task'],
    // The l2e model's layers take the mechanisms' default settings: a setting given is refused.
    [['--mechanism', 'OM-', '--downsize', '8'], '--downsize: not an option of the l2e task'],
    [['--mechanism', 'UR-', '--t-max', '50'], '--t-max: not an option of the l2e task'],
  ] as [string[], string][])
    it(args.join(' '), async () => {
      const out = mkdtempSync(join(tmpdir(), 'urgate-l2e-bad-'));
      const { err, status } = await runCaptured(trainCommand(), [
        'l2e',
        ...args,
        '--out',
        join(out, 'run'),
      ]);
      expect(err).toContain(`urgate train: ${message}`);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(status).toBe(1);
    });
});

describe('urgate train l2e -> export -> eval', () => {
  for (const [label, core] of [
    ['UR-LSTM', ['--hidden-size', '8']],
    ['UR-RMC', ['--core', 'rmc', '--mem-slots', '2', '--head-size', '4', '--num-heads', '2']],
  ] as const)
    it(`${label}: eval's accuracy from onnxruntime equals the trainer's last evaluation`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'urgate-l2e-cli-'));
      const run = join(dir, 'run');
      const trained = await runCaptured(
        trainCommand(),
        ['l2e', '--length', '2', '--nesting', '2', ...core, '--batch-size', '8'].concat([
          '--steps',
          '3',
          '--eval-every',
          '3',
          '--eval-size',
          '2',
          '--out',
          run,
          '--no-progress',
        ]),
      );
      expect(trained.status).toBeUndefined();
      expect(trained.out).toMatch(/held-out test programs at length 2, nesting 2: per-character/);
      const result = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8'));
      const exported = await runExport(join(run, 'model.safetensors'), {
        out: join(dir, 'onnx'),
        maxBatchSize: 1,
      });
      expect(exported.kind).toBe('l2e');
      const r = await runCommand(evalCommand, ['test', '--onnx', exported.sequence, '--json']);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out);
      expect(report.programs).toBe(16);
      expect(report.chars).toBe(result.final.chars);
      expect(report.charAccuracy).toBe(result.final.charAccuracy);
      expect(report.programAccuracy).toBe(result.final.programAccuracy);
      expect(report.loss).toBeCloseTo(result.final.loss, 4);
    });
});
