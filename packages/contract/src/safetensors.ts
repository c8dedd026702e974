import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeFileAtomic } from '@urgate/files';

/**
 * Checkpoints in the safetensors format (https://huggingface.co/docs/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}`,
 * then the raw little-endian tensor bytes. urgate keeps its own metadata as one JSON
 * string under `__metadata__.urgate` (LAYOUT.md "Checkpoint file"); that JSON also holds
 * `dataSha256`, the SHA-256 of the tensor data, checked on load (and not returned in `meta`). Loading also refuses
 * non-finite values, naming the tensor.
 */
export interface CheckpointTensor {
  shape: number[];
  data: Float32Array;
}
export type CheckpointTensors = Record<string, CheckpointTensor>;
export interface CheckpointMeta {
  format: 'urgate-checkpoint';
  version: number;
  // biome-ignore lint/suspicious/noExplicitAny: model/tokenizer/training sections are owned by their packages.
  [key: string]: any;
}

export const CHECKPOINT_FORMAT = 'urgate-checkpoint';
export const CHECKPOINT_VERSION = 1;
const METADATA_KEY = 'urgate';
const CHECKSUM_KEY = 'dataSha256';
// safetensors readers refuse headers above 100 MB.
const MAX_HEADER_BYTES = 100_000_000;

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, k) => {
    view.setFloat32(4 * k, v, true);
  });
  return out;
}

function readFloat32LE(bytes: Uint8Array): Float32Array {
  // Copy so the result is aligned and does not alias the file buffer.
  const copy = new Uint8Array(bytes);
  if (endianness() === 'LE') return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  const view = new DataView(copy.buffer);
  return Float32Array.from({ length: copy.byteLength / 4 }, (_, k) => view.getFloat32(4 * k, true));
}

/** Encodes tensors and metadata as safetensors bytes. */
export function encodeCheckpoint(tensors: CheckpointTensors, meta: object): Uint8Array {
  const parts = checkpointParts(tensors, meta);
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * The file as its parts, in order: the length and header, then each tensor's bytes — on a
 * little-endian machine views of the tensors' own data, so that writing a model's state costs
 * no second copy of it (at hidden 1024 the LM's training state is 200 MB).
 */
function checkpointParts(tensors: CheckpointTensors, meta: object): Uint8Array[] {
  if (meta === null || typeof meta !== 'object')
    throw new Error(`meta: expected an object, got ${JSON.stringify(meta)}`);
  if (tensors === null || typeof tensors !== 'object')
    throw new Error(`tensors: expected a record of {shape, data}, got ${JSON.stringify(tensors)}`);
  const metadata: Record<string, string> = {};
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '' || name === '__metadata__')
      throw new Error(`tensors: invalid tensor name ${JSON.stringify(name)}`);
    if (!Array.isArray(t?.shape) || t.shape.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new Error(
        `tensors.${name}.shape: expected an array of non-negative integers, got ${JSON.stringify(t?.shape)}`,
      );
    }
    if (!(t.data instanceof Float32Array))
      throw new Error(`tensors.${name}.data: expected a Float32Array`);
    if (t.data.length !== elementCount(t.shape)) {
      throw new Error(
        `tensors.${name}: data has ${t.data.length} values but shape ${JSON.stringify(t.shape)} needs ${elementCount(t.shape)}`,
      );
    }
    header[name] = {
      dtype: 'F32',
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    chunks.push(littleEndianBytes(t.data));
    offset += t.data.byteLength;
  }
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  metadata[METADATA_KEY] = JSON.stringify({
    ...meta,
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    [CHECKSUM_KEY]: hash.digest('hex'),
  });
  let json = JSON.stringify(header);
  // Pad with spaces (allowed by the spec) so that the data starts 8-byte aligned.
  const jsonBytes0 = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (jsonBytes0.length % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + jsonBytes.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  head.set(jsonBytes, 8);
  return [head, ...chunks];
}

/**
 * Writes a checkpoint atomically (@urgate/files: a temporary name, then renamed), straight from
 * the tensors' data: it must not change until the returned promise settles (the checksum is
 * taken when the call starts).
 */
export async function saveCheckpoint(
  path: string,
  tensors: CheckpointTensors,
  meta: object,
): Promise<void> {
  if (typeof path !== 'string' || path === '')
    throw new Error(`path: expected a file path, got ${JSON.stringify(path)}`);
  await writeFileAtomic(path, checkpointParts(tensors, meta), 'checkpoint');
}

const notedUnchecked = new Set<string>();

/** The data must match the header's checksum; a file from before checksums loads with a note. */
function checkData(data: Uint8Array, expected: unknown, source: string) {
  if (expected === undefined) {
    if (!notedUnchecked.has(source)) {
      notedUnchecked.add(source);
      process.stderr.write(
        `note: ${source} has no data checksum (written before urgate checksummed its files); loaded unchecked\n`,
      );
    }
    return;
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== expected)
    throw new Error(
      `${source}: the tensor data does not match the file's checksum (sha256 ${actual.slice(0, 12)}…, recorded ${String(expected).slice(0, 12)}…): the file is corrupt`,
    );
}

function checkFinite(name: string, values: Float32Array, source: string): void {
  for (let k = 0; k < values.length; k++)
    if (!Number.isFinite(values[k]))
      throw new Error(
        `${source}: tensor ${name} holds a non-finite value (${values[k]} at element ${k}); refusing to load it`,
      );
}

/** Parses safetensors bytes; `source` names the file in error messages. */
export function decodeCheckpoint(
  bytes: Uint8Array,
  source: string,
): { tensors: CheckpointTensors; meta: CheckpointMeta } {
  const notSafetensors = (why: string) =>
    new Error(`${source}: not an urgate checkpoint (safetensors file expected): ${why}`);
  if (bytes.length < 8)
    throw notSafetensors(`the file has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES))
    throw notSafetensors(`header length ${headerLength} is implausible`);
  const n = Number(headerLength);
  if (8 + n > bytes.length)
    throw new Error(
      `${source}: truncated checkpoint: header needs ${n} bytes but only ${bytes.length - 8} follow the length`,
    );
  let header: Record<string, unknown>;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith('{')) throw new Error('header does not start with "{"');
    header = JSON.parse(text);
  } catch {
    throw notSafetensors('the header is not a JSON object');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw notSafetensors('the header is not a JSON object');

  const data = bytes.subarray(8 + n);
  const tensors: CheckpointTensors = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e?.dtype !== 'F32')
      throw new Error(
        `${source}: tensor ${name} has dtype ${JSON.stringify(e?.dtype)}; urgate checkpoints hold F32 only`,
      );
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0))
      throw notSafetensors(`tensor ${name} has a malformed shape`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isInteger(o) || o < 0) ||
      offsets[1] < offsets[0]
    ) {
      throw notSafetensors(`tensor ${name} has malformed data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (end - begin !== 4 * elementCount(shape))
      throw notSafetensors(
        `tensor ${name} spans ${end - begin} bytes but shape ${JSON.stringify(shape)} needs ${4 * elementCount(shape)}`,
      );
    if (end > data.length)
      throw new Error(
        `${source}: truncated checkpoint: tensor ${name} ends at data byte ${end} but only ${data.length} data bytes are present`,
      );
    spans.push([begin, end, name]);
    tensors[name] = { shape, data: readFloat32LE(data.subarray(begin, end)) };
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered)
      throw notSafetensors(
        `tensor ${name} starts at data byte ${begin}, expected ${covered} (tensors must be contiguous)`,
      );
    covered = end;
  }
  if (covered !== data.length)
    throw notSafetensors(`${data.length - covered} data bytes after the last tensor`);

  const metadata = header.__metadata__ as Record<string, unknown> | undefined;
  const raw = metadata?.[METADATA_KEY];
  if (typeof raw !== 'string')
    throw new Error(
      `${source}: a safetensors file without urgate metadata (__metadata__.${METADATA_KEY}); not an urgate checkpoint`,
    );
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw);
  } catch {
    throw new Error(`${source}: __metadata__.${METADATA_KEY} is not valid JSON`);
  }
  if (meta?.format !== CHECKPOINT_FORMAT)
    throw new Error(
      `${source}: metadata format is ${JSON.stringify(meta?.format)}, expected "${CHECKPOINT_FORMAT}"`,
    );
  if (meta.version !== CHECKPOINT_VERSION)
    throw new Error(
      `${source}: checkpoint version ${JSON.stringify(meta.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`,
    );
  const { [CHECKSUM_KEY]: checksum, ...described } = meta;
  checkData(data, checksum, source);
  for (const [name, t] of Object.entries(tensors)) checkFinite(name, t.data, source);
  return { tensors, meta: described as CheckpointMeta };
}

export async function loadCheckpoint(
  path: string,
): Promise<{ tensors: CheckpointTensors; meta: CheckpointMeta }> {
  if (typeof path !== 'string' || path === '')
    throw new Error(`path: expected a file path, got ${JSON.stringify(path)}`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read checkpoint: ${(err as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}
