// IDX format (LeCun's MNIST files, also Fashion-MNIST): big-endian header
//   bytes 0-1: 0x00 0x00; byte 2: data type (0x08 = unsigned byte); byte 3: number of
//   dimensions d; then d uint32 sizes; then the data, last dimension fastest.
// Images are idx3 (magic 0x00000803: count, rows, cols), labels idx1 (0x00000801: count).

import { readDataFile } from './dataFile.js';

const IDX_UBYTE = 0x08;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an unsigned-byte IDX array with `rank` dimensions; `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, rank: number, file: string): IdxArray {
  const magic = `0x0000${IDX_UBYTE.toString(16).padStart(2, '0')}${rank.toString(16).padStart(2, '0')}`;
  const what = `an IDX file of unsigned bytes with ${rank} dimension${rank === 1 ? '' : 's'} (magic ${magic})`;
  if (bytes.length < 4) {
    throw new Error(`${file}: truncated: ${bytes.length} bytes, expected ${what}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== IDX_UBYTE || bytes[3] !== rank) {
    throw new Error(
      `${file}: wrong magic number 0x${found.toString(16).padStart(8, '0')}, expected ${what}`,
    );
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(`${file}: truncated header: ${bytes.length} bytes, expected ${headerBytes}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const dataBytes = dims.reduce((a, b) => a * b, 1);
  const total = headerBytes + dataBytes;
  if (bytes.length < total) {
    throw new Error(
      `${file}: truncated: ${bytes.length} bytes, expected ${total} for dimensions ${dims.join('x')}`,
    );
  }
  if (bytes.length > total) {
    throw new Error(
      `${file}: ${bytes.length - total} unexpected trailing bytes after ${total} bytes for dimensions ${dims.join('x')}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes, total) };
}

export interface IdxImages {
  count: number;
  height: number;
  width: number;
  /** count x height x width, row-major (left-to-right, top-to-bottom). */
  pixels: Uint8Array;
}

export async function readIdxImages(path: string): Promise<IdxImages> {
  const bytes = await readDataFile(path, 'IDX images (idx3-ubyte, optionally gzipped)');
  const { dims, data } = parseIdx(bytes, 3, path);
  const [count, height, width] = dims;
  return { count, height, width, pixels: data };
}

export async function readIdxLabels(path: string): Promise<Uint8Array> {
  const bytes = await readDataFile(path, 'IDX labels (idx1-ubyte, optionally gzipped)');
  return parseIdx(bytes, 1, path).data;
}
