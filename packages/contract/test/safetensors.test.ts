import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/index.js';

const tensors = {
  'layers.0.W': { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-8, -7]) },
  'layers.0.b': { shape: [3], data: new Float32Array([0.25, 0.5, -1]) },
  scalarish: { shape: [], data: new Float32Array([42]) },
};
const meta = { model: { kind: 'lm', core: 'lstm', mechanism: 'UR-', numLayers: 1 } };

async function scratch() {
  return mkdtemp(join(tmpdir(), 'urgate-ckpt-'));
}

describe('safetensors checkpoints', () => {
  it('round-trips tensors and metadata and leaves no temporary file', async () => {
    const dir = await scratch();
    const path = join(dir, 'sub', 'model.safetensors');
    await saveCheckpoint(path, tensors, meta);
    const back = await loadCheckpoint(path);
    expect(back.meta).toEqual({ ...meta, format: 'urgate-checkpoint', version: 1 });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name].shape).toEqual(t.shape);
      expect(back.tensors[name].data).toEqual(t.data);
    }
    expect(await readdir(join(dir, 'sub'))).toEqual(['model.safetensors']);
  });

  it('writes bytes that follow the safetensors spec (parsed here independently)', async () => {
    const dir = await scratch();
    const path = join(dir, 'm.safetensors');
    await saveCheckpoint(path, tensors, meta);
    const buf = await readFile(path);
    const n = Number(buf.readBigUInt64LE(0));
    const headerText = buf.subarray(8, 8 + n).toString('utf8');
    expect(headerText.startsWith('{')).toBe(true);
    expect(/\}\s*$/.test(headerText)).toBe(true); // trailing padding may only be whitespace
    const header = JSON.parse(headerText);
    const dataStart = 8 + n;
    const spans: [number, number][] = [];
    for (const [name, t] of Object.entries(tensors)) {
      const e = header[name];
      expect(e.dtype).toBe('F32');
      expect(e.shape).toEqual(t.shape);
      const [begin, end] = e.data_offsets;
      expect(end - begin).toBe(4 * t.data.length);
      spans.push([begin, end]);
      for (let k = 0; k < t.data.length; k++)
        expect(buf.readFloatLE(dataStart + begin + 4 * k)).toBe(t.data[k]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    expect(spans[0][0]).toBe(0);
    for (let k = 1; k < spans.length; k++) expect(spans[k][0]).toBe(spans[k - 1][1]);
    expect(dataStart + spans[spans.length - 1][1]).toBe(buf.length); // the buffer is fully indexed
    expect(Object.keys(header.__metadata__)).toEqual(['urgate']);
    expect(typeof header.__metadata__.urgate).toBe('string');
    expect(JSON.parse(header.__metadata__.urgate).format).toBe('urgate-checkpoint');
  });

  it('reports truncated, foreign and missing files clearly', async () => {
    const dir = await scratch();
    const good = join(dir, 'good.safetensors');
    await saveCheckpoint(good, tensors, meta);
    const bytes = await readFile(good);

    const truncated = join(dir, 'truncated.safetensors');
    await writeFile(truncated, bytes.subarray(0, bytes.length - 5));
    await expect(loadCheckpoint(truncated)).rejects.toThrow(
      /truncated\.safetensors: truncated checkpoint: tensor .* ends at data byte/,
    );

    const cutHeader = join(dir, 'cut.safetensors');
    await writeFile(cutHeader, bytes.subarray(0, 20));
    await expect(loadCheckpoint(cutHeader)).rejects.toThrow(
      /cut\.safetensors: truncated checkpoint: header needs/,
    );

    const text = join(dir, 'notes.txt');
    await writeFile(text, 'hello, this is not a checkpoint at all');
    await expect(loadCheckpoint(text)).rejects.toThrow(
      /notes\.txt: not an urgate checkpoint \(safetensors file expected\)/,
    );

    const tiny = join(dir, 'tiny.bin');
    await writeFile(tiny, 'abc');
    await expect(loadCheckpoint(tiny)).rejects.toThrow(
      /tiny\.bin: not an urgate checkpoint .*3 bytes/,
    );

    const plainHeader = Buffer.from(
      JSON.stringify({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }),
    );
    const plain = Buffer.alloc(8 + plainHeader.length + 4);
    plain.writeBigUInt64LE(BigInt(plainHeader.length), 0);
    plainHeader.copy(plain, 8);
    const foreign = join(dir, 'foreign.safetensors');
    await writeFile(foreign, plain);
    await expect(loadCheckpoint(foreign)).rejects.toThrow(
      /foreign\.safetensors: a safetensors file without urgate metadata/,
    );

    await expect(loadCheckpoint(join(dir, 'absent.safetensors'))).rejects.toThrow(
      /absent\.safetensors: cannot read checkpoint/,
    );
  });

  it('rejects data that does not match its shape before writing', async () => {
    const dir = await scratch();
    const path = join(dir, 'bad.safetensors');
    await expect(
      saveCheckpoint(path, { w: { shape: [2, 2], data: new Float32Array(3) } }, meta),
    ).rejects.toThrow(/^tensors\.w: data has 3 values but shape \[2,2\] needs 4/);
    expect(await readdir(dir)).toEqual([]);
  });
});
