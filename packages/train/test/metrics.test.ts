import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsWriter, readMetrics } from '../src/metrics.js';

const scratch = () => join(mkdtempSync(join(tmpdir(), 'urgate-metrics-')), 'metrics.jsonl');

describe('metrics file', () => {
  it('drops only a torn last line; a corrupt line elsewhere is an error naming file and line', () => {
    const path = scratch();
    writeFileSync(path, '{"step":1,"loss":2}\n{"step":2,"loss":1}\n{"step":3,"lo');
    expect(readMetrics(path).map((r) => r.step)).toEqual([1, 2]);
    writeFileSync(path, '{"step":1,"loss":2}\n{"step":2,"lo\n{"step":3,"loss":1}\n');
    expect(() => readMetrics(path)).toThrow(
      `${path}:2: not a JSON line (the metrics file is corrupt)`,
    );
    writeFileSync(path, '{"step":1}\n[1,2]\n');
    expect(() => readMetrics(path)).toThrow(
      `${path}:2: expected a JSON object with a numeric step`,
    );
    // A complete last line (newline written) that does not parse is corruption, not a tear.
    writeFileSync(path, '{"step":1}\n{"step":2,\n');
    expect(() => readMetrics(path)).toThrow(`${path}:2: not a JSON line`);
  });

  it('invalid UTF-8 is an error naming file and line, on reading and on resuming; a torn last line cut inside a character is dropped', () => {
    const path = scratch();
    const good = '{"step":1,"loss":2}\n';
    // One flipped byte: "loss" with its "o" (0x6f) turned into 0xef starts a 3-byte sequence
    // that the next bytes do not continue. Decoded leniently it would parse, as "l\ufffdss".
    const flipped = Buffer.from('{"step":2,"loss":1}\n');
    flipped[flipped.indexOf('loss') + 1] = 0xef;
    writeFileSync(path, Buffer.concat([Buffer.from(good), flipped, Buffer.from(good)]));
    expect(() => readMetrics(path)).toThrow(
      `${path}:2: not valid UTF-8 (the metrics file is corrupt)`,
    );
    expect(() => new MetricsWriter(path, { keep: 1 })).toThrow(`${path}:2: not valid UTF-8`);
    // A process killed while appending "é" (0xc3 0xa9) after its first byte.
    const torn = Buffer.from('{"step":2,"note":"caf\u00e9"}');
    writeFileSync(path, Buffer.concat([Buffer.from(good), torn.subarray(0, torn.length - 3)]));
    expect(readMetrics(path).map((r) => r.step)).toEqual([1]);
  });

  it('a missing file is an error, on reading and on resuming', () => {
    const path = scratch();
    expect(() => readMetrics(path)).toThrow(`${path}: the metrics file does not exist`);
    expect(() => new MetricsWriter(path, { keep: 3 })).toThrow(
      `${path}: the metrics file does not exist`,
    );
  });

  it('resuming keeps the records the checkpoint counted, and refuses a file with fewer', () => {
    const path = scratch();
    const w = new MetricsWriter(path);
    for (const step of [1, 2, 2, 3]) w.write({ step, kind: step === 2 ? 'x' : 'train' });
    expect(w.count).toBe(4);
    const resumed = new MetricsWriter(path, { keep: 3 });
    expect(resumed.count).toBe(3);
    expect(readMetrics(path).map((r) => r.step)).toEqual([1, 2, 2]);
    expect(() => new MetricsWriter(path, { keep: 5 })).toThrow(
      /holds 3 records but the checkpoint was saved after 5/,
    );
  });
});
