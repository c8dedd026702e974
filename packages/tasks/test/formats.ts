// Writers for the exact on-disk formats, used by the tests to make input files.

/** IDX unsigned-byte file: 00 00 08 <rank>, big-endian uint32 sizes, data. */
export function idxBytes(rank: number, dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 0x08, rank]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** CIFAR-10 batch: per record a label byte then R, G, B planes of 1024 bytes. */
export function cifarBytes(labels: number[], planes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((label, n) => {
    out[n * 3073] = label;
    out.set(planes[n], n * 3073 + 1);
  });
  return out;
}
