// Runs the urgate command from its sources in a child process with a module hook that records
// every module the process loads (serve's test/child/record-modules.mjs): what the no-tfjs tests
// of the trainers and the server read.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const serveDir = new URL('../../serve/', import.meta.url);

/** Node's arguments that run `urgate` from its sources with the module hook (log: URGATE_MODULE_LOG). */
export function urgateFromSourceArgs(): string[] {
  return [
    '--import',
    fileURLToPath(new URL('test/child/record-modules.mjs', serveDir)),
    '--import',
    fileURLToPath(new URL('dev/register-source.mjs', serveDir)),
    '--conditions=@urgate/source',
    fileURLToPath(new URL('../src/bin.ts', import.meta.url)),
  ];
}

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
    const child = spawnSync(
      process.execPath,
      [...urgateFromSourceArgs(), ...args(engine, join(dir, engine))],
      {
        env: { ...process.env, URGATE_MODULE_LOG: log },
        encoding: 'utf8',
      },
    );
    expect(child.status, child.stderr).toBe(0);
    stdout[engine] = child.stdout;
    modules[engine] = readFileSync(log, 'utf8').split('\n').filter(Boolean);
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
