// Checksums and finiteness of an exported model's weights. Used by export (seal) and by the
// runtime when it opens a session (verify); imports neither tfjs nor @urgate/cells.
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';

const { ModelProto, TensorProto } = onnxProto.onnx;
type Tensor = onnxProto.onnx.ITensorProto;

/** metadata_props key (beside `urgate`) whose value is the initializers' sha256, in hex. */
export const INITIALIZERS_SHA256_KEY = 'urgate.initializers.sha256';

/**
 * sha256 over the graph's initializers in file order; for each: its name in UTF-8 and a 0 byte,
 * data_type (uint32), the number of dims (uint32), each dim (int64), the byte length of
 * raw_data (uint64) and raw_data itself; integers little-endian. (urgate writes every
 * initializer as raw_data.) Any changed weight, shape, type, name or order changes it.
 */
function initializersSha256(initializers: readonly Tensor[]): string {
  const hash = createHash('sha256');
  for (const t of initializers) {
    const dims = t.dims ?? [];
    const raw = t.rawData ?? new Uint8Array(0);
    const header = Buffer.alloc(8 + 8 * dims.length + 8);
    header.writeUInt32LE(t.dataType ?? 0, 0);
    header.writeUInt32LE(dims.length, 4);
    dims.forEach((d, i) => {
      header.writeBigInt64LE(BigInt(d.toString()), 8 + 8 * i);
    });
    header.writeBigUInt64LE(BigInt(raw.length), 8 + 8 * dims.length);
    hash.update(Buffer.from(`${t.name ?? ''}\0`, 'utf8'));
    hash.update(header);
    hash.update(raw);
  }
  return hash.digest('hex');
}

/** Bytes as a typed array of `size`-byte elements, copied when they are not aligned for it. */
function view<T>(
  raw: Uint8Array,
  size: number,
  make: (buffer: ArrayBufferLike, offset: number, length: number) => T,
): T {
  const bytes = raw.byteOffset % size === 0 ? raw : new Uint8Array(raw); // a copy (Buffer.slice is a view)
  return make(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / size));
}

/** The index and kind of the first non-finite element of a floating-point tensor, or null. */
function firstNonFinite(t: Tensor): { index: number; value: string } | null {
  const { DataType } = TensorProto;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const check = (values: ArrayLike<number>) => {
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i])) return { index: i, value: String(values[i]) };
    return null;
  };
  // float16 / bfloat16: exponent bits all ones is Inf or NaN.
  const halves = (mask: number, mantissa: number) => {
    if (!raw) return null;
    const bits = view(raw, 2, (b, o, n) => new Uint16Array(b, o, n));
    for (let i = 0; i < bits.length; i++)
      if ((bits[i] & mask) === mask) return { index: i, value: bits[i] & mantissa ? 'NaN' : 'Inf' };
    return null;
  };
  switch (t.dataType) {
    case DataType.FLOAT:
      return check(
        raw ? view(raw, 4, (b, o, n) => new Float32Array(b, o, n)) : (t.floatData ?? []),
      );
    case DataType.DOUBLE:
      return check(
        raw ? view(raw, 8, (b, o, n) => new Float64Array(b, o, n)) : (t.doubleData ?? []),
      );
    case DataType.FLOAT16:
      return halves(0x7c00, 0x03ff);
    case DataType.BFLOAT16:
      return halves(0x7f80, 0x007f);
    default:
      return null;
  }
}

/** Refuses initializers holding NaN or ±Inf, naming the first such tensor and element. */
function refuseNonFinite(where: string, initializers: readonly Tensor[]): void {
  for (const t of initializers) {
    const bad = firstNonFinite(t);
    if (bad)
      throw new Error(
        `${where}: initializer ${t.name} holds ${bad.value} at element ${bad.index}: refusing non-finite weights`,
      );
  }
}

/**
 * Adds the initializers' sha256 to an encoded model's metadata (export); refuses non-finite
 * weights, which would otherwise be served as garbage text.
 */
export function sealInitializers(model: Uint8Array, name: string): Uint8Array {
  const decoded = ModelProto.decode(model);
  const initializers = decoded.graph?.initializer ?? [];
  refuseNonFinite(name, initializers);
  decoded.metadataProps = decoded.metadataProps.filter((p) => p.key !== INITIALIZERS_SHA256_KEY);
  decoded.metadataProps.push({
    key: INITIALIZERS_SHA256_KEY,
    value: initializersSha256(initializers),
  });
  return ModelProto.encode(decoded).finish();
}

const noted = new Set<string>();

/**
 * Checks a model file's weights before a session is made from it: the initializers must hold
 * no NaN or ±Inf and match the sha256 written at export (a file exported before checksums
 * loads with a one-time note). Each refusal is one line naming the file.
 */
export function verifyInitializers(
  path: string,
  bytes: Uint8Array,
  note: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
): void {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${path} is not a readable ONNX model (${(e as Error).message})`);
  }
  const initializers = model.graph?.initializer ?? [];
  // Non-finite values first: naming the tensor says more than a checksum mismatch.
  refuseNonFinite(path, initializers);
  const recorded = model.metadataProps.find((p) => p.key === INITIALIZERS_SHA256_KEY)?.value;
  if (recorded === undefined || recorded === null) {
    if (!noted.has(path)) {
      noted.add(path);
      note(
        `note: ${path} carries no initializer checksum (exported by an older urgate); its weights are not verified: export it again to add one`,
      );
    }
  } else if (initializersSha256(initializers) !== recorded) {
    throw new Error(
      `${path}: the initializers do not match the sha256 in its metadata (${INITIALIZERS_SHA256_KEY}): the file is corrupt or was changed after export`,
    );
  }
}
