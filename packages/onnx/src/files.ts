import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes to a temporary sibling and renames, so a reader never sees a partial file. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes several files, each atomically; the contents are all computed before the first write. */
export async function writeFilesAtomic(
  files: { path: string; data: Uint8Array | string }[],
): Promise<void> {
  for (const f of files) await writeFileAtomic(f.path, f.data);
}
