// Runs the urgate command from its sources in a child process with a module hook that records
// every module the process loads (@urgate/source-hooks' recorder): what the no-tfjs tests of the
// trainers read.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordedModules, recordingModules } from '@urgate/source-hooks';
import { expect } from 'vitest';
import { urgateBin } from './runCommand.js';

/** Modules of tfjs or of the tfjs cells. */
const TFJS_MODULE = /@tensorflow|\/packages\/cells\/|@urgate\/cells/;

/**
 * A trainer run on each engine in a child (`args(engine, out)`, exit status 0 expected): the
 * native engine loads `nativeModule` and no tfjs or tfjs cells, the reference engine loads tfjs,
 * both record their engine in result.json and agree on the first loss to float32 rounding.
 * Returns each run's stdout.
 */
export function expectNativeEngineWithoutTfjs(
  dir: string,
  args: (engine: string, out: string) => string[],
  nativeModule: string,
): { native: string; reference: string } {
  const stdout: Record<string, string> = {};
  const modules: Record<string, string[]> = {};
  for (const engine of ['native', 'reference']) {
    const log = join(dir, `modules-${engine}.log`);
    const recording = recordingModules(log);
    const child = spawnSync(
      process.execPath,
      [...recording.args, urgateBin, ...args(engine, join(dir, engine))],
      { env: recording.env, encoding: 'utf8' },
    );
    expect(child.status, child.stderr).toBe(0);
    stdout[engine] = child.stdout;
    modules[engine] = recordedModules(log);
    const result = JSON.parse(readFileSync(join(dir, engine, 'result.json'), 'utf8'));
    expect(result.config.engine).toBe(engine);
  }
  expect(modules.native.some((u) => u.includes(nativeModule))).toBe(true);
  expect(modules.native.filter((u) => TFJS_MODULE.test(u))).toEqual([]);
  expect(modules.reference.some((u) => /@tensorflow/.test(u))).toBe(true);
  const firstLoss = (engine: string) =>
    JSON.parse(readFileSync(join(dir, engine, 'metrics.jsonl'), 'utf8').split('\n')[0]).loss;
  expect(Math.abs(firstLoss('native') - firstLoss('reference'))).toBeLessThan(1e-5);
  return { native: stdout.native, reference: stdout.reference };
}
