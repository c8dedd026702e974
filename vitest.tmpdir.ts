import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every temporary file a test run makes (its own, its child processes', mpirun's and the Slurm
// cluster's) goes under one folder, removed when the run ends, so runs leave nothing in /tmp:
// TMPDIR is set before the test workers start and they, and what they spawn, inherit it.
// URGATE_KEEP_TEST_TMP=1 keeps the folder to inspect a failure.
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'urgate-test-'));
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.URGATE_KEEP_TEST_TMP === '1') console.log(`test files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
