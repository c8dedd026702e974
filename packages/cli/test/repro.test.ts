// The reproductions' table (packages/experiments/src/repro.ts) holds `urgate sweep` argument
// lists: every one, at full scale and as the smoke check, must be accepted by the sweep command
// (each run's settings validated, as before training) — checked with --report-only on an empty
// directory, which plans every run and writes an empty table.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPRO_DOCS, REPRODUCTIONS, reproCommands, reproDocs } from '@urgate/experiments';
import { afterEach, describe, expect, it } from 'vitest';
import { reproCommand } from '../src/commands/repro.js';
import { sweepCommand } from '../src/commands/sweep.js';
import { runCaptured } from './runCommand.js';

afterEach(() => {
  process.exitCode = undefined;
});

describe('urgate repro', () => {
  for (const scale of ['full', 'smoke'] as const)
    it(`every reproduction's sweep arguments (${scale}) are accepted by urgate sweep`, async () => {
      for (const r of REPRODUCTIONS) {
        const out = mkdtempSync(join(tmpdir(), `urgate-repro-${r.name}-`));
        const commands = reproCommands(r, { scale, out, jobs: 1 });
        const sweep = commands[commands.length - 1];
        expect(sweep[0]).toBe('sweep');
        expect(commands.slice(0, -1).every((c) => c[0] === 'lm' && c[1] === 'prepare')).toBe(true);
        const dashes = sweep.indexOf('--');
        const args = [...sweep.slice(1, dashes < 0 ? undefined : dashes), '--report-only'];
        const { err, status } = await runCaptured(sweepCommand(), [
          ...args,
          ...(dashes < 0 ? [] : sweep.slice(dashes)),
        ]);
        expect({ name: r.name, err, status }).toEqual({ name: r.name, err: '', status: undefined });
        expect(existsSync(join(out, 'results.md'))).toBe(true);
      }
    });

  it('an unknown name and a resume with nothing to resume are one line each', async () => {
    const unknown = await runCaptured(reproCommand(), ['run', 'nope']);
    expect(unknown.err).toBe(
      "urgate repro run: unknown reproduction 'nope'; expected one of copy, copy-all, adding, fmnist, pixel, l2e, lm\n",
    );
    expect(unknown.status).toBe(1);
    const out = mkdtempSync(join(tmpdir(), 'urgate-repro-none-'));
    const resume = await runCaptured(reproCommand(), ['resume', 'pixel', '--out', out]);
    expect(resume.err).toBe(
      `urgate repro resume: ${out}: no runs to resume; start it with \`urgate repro run pixel\`\n`,
    );
    expect(resume.status).toBe(1);
  });

  it('lm prepares its corpus, then sweeps; a smoke check publishes under its out, not the package docs', () => {
    const lm = REPRODUCTIONS.find((r) => r.name === 'lm');
    expect(lm).toBeDefined();
    const [prepare, sweep] = reproCommands(lm as (typeof REPRODUCTIONS)[number], {
      scale: 'smoke',
      out: 'runs/x',
      jobs: 2,
    });
    expect(prepare).toEqual(['lm', 'prepare', '--min-count', '20', '--out', 'runs/x/cache']);
    expect(sweep.slice(sweep.indexOf('--seeds'), sweep.indexOf('--'))).toEqual([
      '--seeds',
      '2',
      '--out',
      'runs/x',
      '--jobs',
      '2',
    ]);
    const r = lm as (typeof REPRODUCTIONS)[number];
    expect(reproDocs(r, { scale: 'smoke', out: 'runs/x' })).toBe(join('runs/x', 'docs'));
    expect(reproDocs(r, { scale: 'full' })).toBe(REPRO_DOCS);
    expect(REPRO_DOCS.endsWith(join('packages', 'experiments', 'docs'))).toBe(true);
  });
});
