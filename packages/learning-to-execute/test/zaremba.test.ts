import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Random } from '@urgate/random';
import { describe, expect, it } from 'vitest';
import {
  generateZarembaProgram,
  ZAREMBA_GO,
  ZAREMBA_VOCABULARY,
  ZarembaCurriculum,
  zarembaBatch,
} from '../src/index.js';

const PYTHON = '/usr/bin/python3';

/** Programs at fixed hardness levels, a few per (length, nesting). */
function samplePrograms() {
  const out = [];
  for (let length = 1; length <= 6; length++) {
    for (let nesting = 1; nesting <= 6; nesting++) {
      const rng = Random.stream(11, length, nesting);
      for (let i = 0; i < 6; i++)
        out.push(generateZarembaProgram(rng, { nesting, length: () => length }));
    }
  }
  return out;
}

describe('Zaremba & Sutskever grammar', () => {
  it('every target is what Python prints for the program, followed by "."', (ctx) => {
    ctx.skip(!existsSync(PYTHON), `${PYTHON} absent`);
    const samples = samplePrograms();
    // One interpreter run: each program's statements are the "#"-separated parts.
    const script = [
      'import sys, io, contextlib',
      'for src in sys.stdin.read().split("\\n"):',
      '    buf = io.StringIO()',
      '    with contextlib.redirect_stdout(buf):',
      '        exec(src.replace("#", "\\n"), {})',
      '    print(buf.getvalue().strip())',
    ].join('\n');
    const printed = execFileSync(PYTHON, ['-c', script], {
      input: samples.map((s) => s.program).join('\n'),
      encoding: 'utf8',
    })
      .trimEnd()
      .split('\n');
    expect(printed.length).toBe(samples.length);
    samples.forEach((s, i) => {
      expect(`${printed[i]}.`).toBe(s.target);
    });
    // The grammar produces negative results too.
    expect(samples.some((s) => s.target.startsWith('-'))).toBe(true);
  });

  it('has the documented shape: "#"-terminated statements, print(...), literals in [1, 10^L], distinct variables', () => {
    const alphabet = new Set(ZAREMBA_VOCABULARY.slice(1));
    for (const s of samplePrograms()) {
      const parts = s.program.split('#');
      expect(parts.at(-1)).toMatch(/^print\(.+\)$/);
      const assigned = parts.slice(0, -1).flatMap((p) => /^([a-j])=/.exec(p)?.[1] ?? []);
      expect(new Set(assigned).size).toBe(assigned.length);
      for (const stmt of parts.slice(0, -1)) {
        expect(stmt).toMatch(/^[a-j]=.+;?$|^for x in range\(\d+\):[a-j][+-]=.+$/);
      }
      const outside = [...`${s.program}${ZAREMBA_GO}${s.target}`].filter((c) => !alphabet.has(c));
      expect(outside).toEqual([]);
    }
    const rng = Random.stream(1);
    for (let i = 0; i < 200; i++) {
      const s = generateZarembaProgram(rng, { nesting: 1, length: () => 2 });
      for (const lit of s.program.match(/\d+/g) ?? []) {
        expect(Number(lit)).toBeGreaterThanOrEqual(1);
        expect(Number(lit)).toBeLessThanOrEqual(100);
      }
    }
  });

  it('is deterministic for a seed', () => {
    const a = samplePrograms().map((s) => s.program);
    expect(samplePrograms().map((s) => s.program)).toEqual(a);
  });

  it('batches: stream program@target, loss only on target characters (next-character ids)', () => {
    const curriculum = new ZarembaCurriculum({
      kind: 'baseline',
      targetLength: 3,
      targetNesting: 2,
    });
    const B = 8;
    const batch = zarembaBatch({ seed: 3, step: 1, batchSize: B, curriculum });
    for (let b = 0; b < B; b++) {
      const s = batch.samples[b];
      const stream = `${s.program}@${s.target}`;
      expect(batch.lengths[b]).toBe(stream.length - 1);
      const ins = Array.from(
        { length: batch.steps },
        (_, t) => ZAREMBA_VOCABULARY[batch.inputs[t * B + b]],
      );
      expect(ins.join('')).toBe(stream.slice(0, -1));
      const outs = Array.from(
        { length: batch.steps },
        (_, t) => ZAREMBA_VOCABULARY[batch.targets[t * B + b]],
      );
      expect(outs.join('')).toBe(s.target);
      expect(batch.targets[s.program.length * B + b]).toBe(ZAREMBA_VOCABULARY.indexOf(s.target[0]));
    }
    expect(zarembaBatch({ seed: 3, step: 1, batchSize: B, curriculum }).inputs).toEqual(
      batch.inputs,
    );
  });
});
