import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The one way urgate writes a file: to a temporary sibling `<path>.tmp-<pid>-<8 hex>`,
 * flushed to disk, then renamed over `path`, so a reader (or a run killed at any point) sees
 * either the old file or the whole new one. A killed writer leaves its temporary file behind;
 * the first write into a directory by a process removes such leftovers of dead processes
 * (`sweepStaleTemps`), so a resumed run ends with no temporary files.
 */
const TEMP_MARK = '.tmp-';
const TEMP_NAME = /\.tmp-(\d+)-[0-9a-f]{8}$/;

/** Temporary files this process is writing now (a same-pid leftover of an older process is stale). */
const inFlight = new Set<string>();
const swept = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `name` is one of this helper's temporary names. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * Removes the temporary files of this helper's naming in `dir` that no live writer owns (their
 * process is gone, or it is this process and the file is not being written). Returns their paths.
 */
export function sweepStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const pid = Number(match[1]);
    if (pid === process.pid ? inFlight.has(path) : alive(pid)) continue;
    rmSync(path, { force: true, recursive: true });
    removed.push(path);
  }
  return removed;
}

/** A fresh temporary name beside `path` (same file system, so the rename is atomic). */
export function tempPathFor(path: string): string {
  const dir = dirname(path);
  if (!swept.has(dir)) {
    swept.add(dir);
    sweepStaleTemps(dir);
  }
  const tmp = `${path}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  inFlight.add(tmp);
  return tmp;
}

/**
 * A failed write, in one line naming what was written, where, why, and what is left:
 * `writing checkpoint runs/a/checkpoint.safetensors: no space left on device; the previous
 * checkpoint is kept`. `code` is the system error's (ENOSPC, EACCES, …).
 */
export class FileWriteError extends Error {
  readonly code: string | undefined;

  constructor(
    readonly path: string,
    what: string,
    cause: unknown,
  ) {
    const e = cause as NodeJS.ErrnoException;
    // Node's text is `ENOSPC: no space left on device, write`: the reason alone is kept.
    const reason =
      /^[A-Z0-9_]+: (.*?)(, [a-z]+( '.*')?)?$/.exec(e?.message ?? '')?.[1] ??
      String(e?.message ?? e);
    const left = existsSync(path) ? `the previous ${what} is kept` : `no ${what} was left there`;
    super(`writing ${what} ${path}: ${reason}; ${left}`, { cause });
    this.code = e?.code;
  }
}

/**
 * Writes `data` to `path` atomically (parent directories created); an array of parts is written
 * one after another (a file too large to assemble in memory first). `what` names the file in
 * errors (`checkpoint`, `metrics`, …): a failure is a FileWriteError.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly Uint8Array[],
  what = 'file',
): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (err) {
    throw new FileWriteError(path, what, err);
  }
  const tmp = tempPathFor(path);
  try {
    const file = await open(tmp, 'w');
    try {
      // writeFile on an open handle writes at the current position: the parts follow each other.
      for (const part of typeof data === 'string' || data instanceof Uint8Array ? [data] : data)
        await file.writeFile(part);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new FileWriteError(path, what, err);
  } finally {
    inFlight.delete(tmp);
  }
}

/** `writeFileAtomic` for synchronous callers. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, what = 'file'): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new FileWriteError(path, what, err);
  }
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new FileWriteError(path, what, err);
  } finally {
    inFlight.delete(tmp);
  }
}

/** Pretty-printed JSON (two-space indent, final newline), written atomically. */
export function writeJsonAtomic(path: string, value: unknown, what = 'file'): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, what);
}

/**
 * Appends binary chunks to a temporary file; `commit` renames it to its final path,
 * `abort` deletes it. Keeps only one chunk in memory at a time.
 */
export class AtomicStreamWriter {
  readonly tmp: string;
  private readonly stream;
  private failure: Error | null = null;

  /** `what` names the file in errors, as in writeFileAtomic. */
  constructor(
    readonly path: string,
    private readonly what = 'file',
  ) {
    this.tmp = tempPathFor(path);
    this.stream = createWriteStream(this.tmp);
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw new FileWriteError(this.path, this.what, this.failure);
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
      if (this.failure) throw new FileWriteError(this.path, this.what, this.failure);
    }
  }

  async commit(): Promise<void> {
    try {
      await this.close();
      if (this.failure) throw this.failure;
      await rename(this.tmp, this.path);
    } catch (err) {
      throw new FileWriteError(this.path, this.what, err);
    } finally {
      inFlight.delete(this.tmp);
    }
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
    inFlight.delete(this.tmp);
  }

  private close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stream.closed) return resolve();
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }
}
