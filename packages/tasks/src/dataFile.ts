// Reads a data file whole, transparently un-gzipping it when it starts with the gzip
// magic bytes (1f 8b). Neither IDX (starts with 00 00) nor CIFAR-10 (starts with a
// label 0..9) can begin with 1f 8b, so the detection is unambiguous.

import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** File contents (decompressed if gzipped); `expected` describes the file for errors. */
export async function readDataFile(path: string, expected: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${path}: file not found (expected ${expected})`);
    throw new Error(`${path}: cannot read (${code ?? String(err)}); expected ${expected}`);
  }
  if (!isGzip(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = await gunzipAsync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new Error(`${path}: corrupt or truncated gzip data (${(err as Error).message})`);
  }
}
