import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';

/** A temporary name beside `path`, so that the final rename stays on one file system. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes `data` to a temporary file and renames it over `path`: readers never see half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Appends binary chunks to a temporary file; `commit` renames it to its final path,
 * `abort` deletes it. Keeps only one chunk in memory at a time.
 */
export class AtomicStreamWriter {
  readonly tmp: string;
  private readonly stream;
  private failure: Error | null = null;

  constructor(readonly path: string) {
    this.tmp = tempPathFor(path);
    this.stream = createWriteStream(this.tmp);
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
      if (this.failure) throw this.failure;
    }
  }

  async commit(): Promise<void> {
    await this.close();
    if (this.failure) throw this.failure;
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }

  private close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stream.closed) return resolve();
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }
}
