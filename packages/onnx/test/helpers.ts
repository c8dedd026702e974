import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `urgate-onnx-${tag}-`));
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-5,
): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < expected.length; k++)
    worst = Math.max(worst, Math.abs(actual[k] - expected[k]));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Debian's python3-onnx checker, or the reason it cannot run here. */
export const PYTHON = '/usr/bin/python3';
export function onnxCheckerMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent`;
  const r = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'python3-onnx is not installed (apt-get install python3-onnx)';
}

/** Runs onnx.checker.check_model(full_check=True) on each file; returns "path: error" lines for failures. */
export function onnxCheck(paths: string[]): string[] {
  const script = [
    'import sys, onnx',
    'for p in sys.argv[1:]:',
    '    try:',
    '        onnx.checker.check_model(onnx.load(p), full_check=True)',
    '    except Exception as e:',
    "        print(p + ': ' + str(e).splitlines()[0])",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, ...paths], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx checker failed to run: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}
