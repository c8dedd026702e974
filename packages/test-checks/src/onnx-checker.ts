// Debian's python3-onnx, the format's own checker, for tests that export a model (skipped, with
// the reason, where python3-onnx is absent).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

/** Why the checker cannot run here, or null when it can. */
export function onnxCheckerMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent`;
  const r = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'python3-onnx is not installed (apt-get install python3-onnx)';
}

/**
 * onnx.checker.check_model(full_check=True) on each file, in one python process: a
 * "path: error" line for each file that fails, none when all pass.
 */
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
