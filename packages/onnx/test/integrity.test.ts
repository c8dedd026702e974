import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnxCheckerMissing, PYTHON, rejectsInOneLine } from '@urgate/test-checks';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { exportCheckpoint } from '../src/index.js';
import { openModel } from '../src/runtime/index.js';
import { INITIALIZERS_SHA256_KEY, verifyInitializers } from '../src/runtime/integrity.js';
import { lmCheckpoint, type TinyLm, writeCheckpoint } from './fixtures.js';
import { tempDir } from './helpers.js';

const { ModelProto } = onnxProto.onnx;

const m: TinyLm = {
  core: 'lstm',
  mechanism: 'UR-',
  numLayers: 1,
  vocabSize: 7,
  embeddingSize: 4,
  hiddenSize: 4,
  downsize: 4,
  layerNorm: false,
  tiedEmbeddings: false,
  fixedGateOffset: false,
  zoneout: null,
};

/** Initializer `name`'s raw data in an encoded model. */
function rawData(model: Uint8Array, name: string): Buffer {
  const t = (ModelProto.decode(model).graph?.initializer ?? []).find((x) => x.name === name);
  return Buffer.from(t?.rawData ?? []);
}

let dir: string;
let step: string;
let bytes: Buffer;
/** Where initializer `name`'s raw data lies in the file. */
let rawOffset: (name: string) => number;

beforeAll(async () => {
  dir = tempDir('integrity');
  const ckpt = join(dir, 'lm.safetensors');
  await writeCheckpoint(ckpt, lmCheckpoint(m, 3));
  step = (await exportCheckpoint(ckpt, dir)).step as string;
  bytes = readFileSync(step);
  rawOffset = (name) => {
    const raw = rawData(bytes, name);
    const at = bytes.indexOf(raw);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(raw, at + 1)).toBe(-1); // found once: the right place
    return at;
  };
});

/** A copy of the step graph with `edit` applied to its bytes. */
function edited(name: string, edit: (b: Buffer) => void): string {
  const copy = Buffer.from(bytes);
  edit(copy);
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, copy);
  return path;
}

/** The largest float initializer: a weight matrix. */
function weightName(): string {
  const model = ModelProto.decode(bytes);
  const floats = (model.graph?.initializer ?? []).filter((t) => t.dataType === 1);
  return floats.sort((a, b) => (b.rawData?.length ?? 0) - (a.rawData?.length ?? 0))[0]
    .name as string;
}

describe('ONNX initializer checksum', () => {
  it('is written at export and matches an independent computation (python onnx)', async (ctx) => {
    const model = ModelProto.decode(bytes);
    const recorded = model.metadataProps.find((p) => p.key === INITIALIZERS_SHA256_KEY)?.value;
    expect(recorded).toMatch(/^[0-9a-f]{64}$/);
    const missing = onnxCheckerMissing();
    if (missing) return ctx.skip(missing);
    // The definition in integrity.ts / README, computed from onnx's own parse of the file.
    const script = [
      'import hashlib, struct, sys, onnx',
      'm = onnx.load(sys.argv[1])',
      'h = hashlib.sha256()',
      'for t in m.graph.initializer:',
      "    h.update(t.name.encode('utf-8') + b'\\0')",
      "    h.update(struct.pack('<II', t.data_type, len(t.dims)))",
      "    h.update(b''.join(struct.pack('<q', d) for d in t.dims))",
      "    h.update(struct.pack('<Q', len(t.raw_data)) + t.raw_data)",
      'print(h.hexdigest())',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, step], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(recorded);
    (await openModel(step)).close();
  });

  it('a flipped data byte is refused when the model is opened, naming the file', async () => {
    const at = rawOffset(weightName()) + 5; // a byte inside the second float: still finite
    const path = edited('flipped', (b) => {
      b[at] ^= 0x01;
    });
    const message = await rejectsInOneLine(openModel(path));
    expect(message).toBe(
      `${path}: the initializers do not match the sha256 in its metadata (${INITIALIZERS_SHA256_KEY}): the file is corrupt or was changed after export`,
    );
  });

  it('NaN bytes written over a weight are refused, naming the tensor and element', async () => {
    const name = weightName();
    const at = rawOffset(name) + 4 * 3;
    const path = edited('nan', (b) => b.writeFloatLE(Number.NaN, at));
    expect(await rejectsInOneLine(openModel(path))).toBe(
      `${path}: initializer ${name} holds NaN at element 3: refusing non-finite weights`,
    );
  });

  it('an older file without the checksum opens with a one-time note, and is still refused with Inf', async () => {
    const model = ModelProto.decode(bytes);
    model.metadataProps = model.metadataProps.filter((p) => p.key !== INITIALIZERS_SHA256_KEY);
    const old = join(dir, 'old.onnx');
    writeFileSync(old, ModelProto.encode(model).finish());
    const notes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      notes.push(String(chunk));
      return true;
    });
    try {
      (await openModel(old)).close();
      (await openModel(old)).close();
    } finally {
      spy.mockRestore();
    }
    expect(notes).toEqual([
      `note: ${old} carries no initializer checksum (exported by an older urgate); its weights are not verified: export it again to add one\n`,
    ]);
    const name = weightName();
    const oldBytes = Buffer.from(readFileSync(old));
    const inf = Buffer.from(oldBytes);
    inf.writeFloatLE(Number.NEGATIVE_INFINITY, oldBytes.indexOf(rawData(oldBytes, name)));
    expect(() => verifyInitializers('old-inf.onnx', inf, () => {})).toThrow(
      `old-inf.onnx: initializer ${name} holds -Infinity at element 0: refusing non-finite weights`,
    );
  });

  it('export refuses a checkpoint with NaN weights, naming the tensor', async () => {
    const c = lmCheckpoint(m, 3);
    c.tensors['output.W'].data[2] = Number.NaN;
    const ckpt = join(dir, 'nan.safetensors');
    await writeCheckpoint(ckpt, c);
    const message = await rejectsInOneLine(exportCheckpoint(ckpt, join(dir, 'nan-out')));
    // The checkpoint loader (@urgate/contract) refuses it before any graph is built.
    expect(message).toBe(
      `${ckpt}: tensor output.W holds a non-finite value (NaN at element 2); refusing to load it`,
    );
  });
});
