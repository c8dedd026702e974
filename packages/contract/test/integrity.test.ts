import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../src/index.js';

const tensors = {
  'layers.0.W': { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-8, -7]) },
  'layers.0.b': { shape: [3], data: new Float32Array([0.25, 0.5, -1]) },
};
const meta = { model: { kind: 'lm' } };

/** Header length and JSON of safetensors bytes, read by the spec (not by the code under test). */
function header(bytes: Uint8Array): { n: number; json: Record<string, Record<string, unknown>> } {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { n, json: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) };
}

/** The same tensors and metadata with the header rewritten (same data bytes). */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, Record<string, unknown>>) => void) {
  const { n, json } = header(bytes);
  edit(json);
  let text = JSON.stringify(json);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const head = Buffer.from(text);
  const out = Buffer.alloc(8 + head.length + bytes.length - 8 - n);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  Buffer.from(bytes.subarray(8 + n)).copy(out, 8 + head.length);
  return out;
}

describe('checkpoint integrity', () => {
  it('records the SHA-256 of the tensor data in the urgate metadata', () => {
    const bytes = encodeCheckpoint(tensors, meta);
    const { n, json } = header(bytes);
    const recorded = JSON.parse(json.__metadata__.urgate as string).dataSha256;
    expect(recorded).toBe(
      createHash('sha256')
        .update(bytes.subarray(8 + n))
        .digest('hex'),
    );
  });

  it('refuses a file with one flipped data byte, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'urgate-integrity-'));
    const path = join(dir, 'model.safetensors');
    await saveCheckpoint(path, tensors, meta);
    const bytes = await readFile(path);
    bytes[bytes.length - 3] ^= 0x01;
    await writeFile(path, bytes);
    await expect(loadCheckpoint(path)).rejects.toThrow(
      new RegExp(
        `^${path.replace(/[.]/g, '\\.')}: the tensor data does not match the file's checksum`,
      ),
    );
  });

  it('refuses non-finite weights naming the tensor, in words other than "diverged"', () => {
    const bad = { ...tensors, 'layers.0.b': { shape: [3], data: new Float32Array([0, NaN, 1]) } };
    expect(() => decodeCheckpoint(encodeCheckpoint(bad, meta), 'nan.safetensors')).toThrow(
      /^nan\.safetensors: tensor layers\.0\.b holds a non-finite value \(NaN at element 1\)/,
    );
    const inf = { ...tensors, 'layers.0.W': { shape: [1], data: new Float32Array([-Infinity]) } };
    expect(() => decodeCheckpoint(encodeCheckpoint(inf, meta), 'inf.safetensors')).toThrow(
      /tensor layers\.0\.W holds a non-finite value \(-Infinity at element 0\)/,
    );
  });

  it('loads a file written before checksums, with a single note per file', () => {
    const old = withHeader(encodeCheckpoint(tensors, meta), (h) => {
      const m = JSON.parse(h.__metadata__.urgate as string);
      delete m.dataSha256;
      h.__metadata__.urgate = JSON.stringify(m);
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const first = decodeCheckpoint(old, 'old.safetensors');
      decodeCheckpoint(old, 'old.safetensors');
      expect(first.tensors['layers.0.b'].data).toEqual(tensors['layers.0.b'].data);
      expect(first.meta).toEqual({ ...meta, format: 'urgate-checkpoint', version: 1 });
      const notes = stderr.mock.calls.map((c) => String(c[0]));
      expect(notes).toEqual([
        expect.stringMatching(/^note: old\.safetensors has no data checksum/),
      ]);
    } finally {
      stderr.mockRestore();
    }
  });
});
