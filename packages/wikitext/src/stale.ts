import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The names tempPathFor (atomic.ts) gives: `<final name>.tmp-<pid>-<8 hex digits>`. */
const TEMP_NAME = /\.tmp-(\d+)-[0-9a-f]{8}$/;

function running(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries (files, or spm_train's work folders) that writers killed before their
 * rename left in `dir`: names of tempPathFor's form whose process is gone. Temporaries of a
 * process still running (another prepare into the same directory) are kept. Returns the names.
 */
export async function sweepStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((name) => {
    const m = TEMP_NAME.exec(name);
    return m !== null && !running(Number(m[1]));
  });
  await Promise.all(stale.map((name) => rm(join(dir, name), { recursive: true, force: true })));
  return stale;
}
