// Debian's python3-onnx, the format's own checker, for tests that export a model (the check is
// skipped where python3-onnx is absent).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const onnxCheckerAvailable =
  existsSync('/usr/bin/python3') &&
  spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status === 0;

/** onnx.checker.check_model(full_check=True) on one file: '' when it passes, else its last error line. */
export function onnxCheck(path: string): string {
  const script =
    'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)';
  const r = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
  return r.status === 0 ? '' : (r.stderr.trim().split('\n').pop() ?? 'failed');
}
