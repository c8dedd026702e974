import { Random } from '@urgate/random';
import { describe, expect, it } from 'vitest';
import {
  DEEPMIND_VOCABULARY,
  DeepMindCurriculum,
  deepMindBatch,
  deepMindSequenceLengths,
  generateDeepMindProgram,
} from '../src/index.js';
import { evaluateDeepMind } from './deepmindEvaluator.js';

describe('DeepMind grammar', () => {
  it('the test evaluator agrees with hand-worked programs', () => {
    expect(evaluateDeepMind('x=(12if34<56else78)for[3]x+=90').value).toBe(12n + 3n * 90n);
    expect(evaluateDeepMind('(11*22)-(33)').value).toBe(242n - 33n);
    expect(evaluateDeepMind('(99+11)if55>66else44')).toMatchObject({ value: 44n, operations: 2 });
  });

  it('every target is the program value mod 10^(L+1); literals have L digits; nesting = operations', () => {
    let checked = 0;
    for (const task of ['all', 'addition', 'control', 'algebra', 'alg-ctrl'] as const) {
      for (let length = 1; length <= 9; length++) {
        for (const nesting of [1, 2, 3, 4, 6]) {
          const rng = Random.stream(42, length, nesting);
          for (let i = 0; i < 8; i++) {
            const s = generateDeepMindProgram(rng, task, length, nesting);
            const ev = evaluateDeepMind(s.program);
            const m = 10n ** BigInt(length + 1);
            expect(s.target).toBe((((ev.value % m) + m) % m).toString());
            expect(s.target.length).toBeLessThanOrEqual(length + 1);
            expect(ev.operations).toBe(nesting);
            for (const lit of ev.literals) {
              expect(lit.length).toBe(length);
              expect(lit[0]).not.toBe('0');
            }
            const { inputSteps, outputSteps } = deepMindSequenceLengths(task, length, nesting);
            expect(s.program.length).toBeLessThanOrEqual(inputSteps);
            expect(s.target.length).toBeLessThanOrEqual(outputSteps);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(5 * 9 * 5 * 8);
  });

  it('uses only the task operations and the nested expression as first operand', () => {
    const rng = Random.stream(3);
    for (let i = 0; i < 50; i++) {
      const add = generateDeepMindProgram(rng, 'addition', 3, 3).program;
      expect(add).toMatch(/^\(\(\d{3}\+\d{3}\)\+\d{3}\)\+\d{3}$/);
      const ctrl = generateDeepMindProgram(rng, 'control', 2, 2).program;
      expect(ctrl).not.toMatch(/[-*]|\d\+\d/);
    }
  });

  it('memory tasks copy, double and reverse the literal', () => {
    const rng = Random.stream(5);
    const copy = generateDeepMindProgram(rng, 'copy', 6, 1);
    expect(copy.target).toBe(copy.program);
    const dbl = generateDeepMindProgram(rng, 'double', 6, 1);
    expect(dbl.target).toBe(dbl.program + dbl.program);
    const rev = generateDeepMindProgram(rng, 'reverse', 6, 1);
    expect(rev.target).toBe([...rev.program].reverse().join(''));
    expect(() => generateDeepMindProgram(rng, 'copy', 6, 2)).toThrow(
      'nesting: expected an integer >= 1 and = 1 for memory tasks, got 2',
    );
  });

  it('sequence lengths follow Sonnet: (3L+10)(N-1) + 4L+10 + 2(N-1) in, 2L out', () => {
    expect(deepMindSequenceLengths('all', 5, 2)).toEqual({ inputSteps: 57, outputSteps: 10 });
    expect(deepMindSequenceLengths('all', 9, 4)).toEqual({ inputSteps: 163, outputSteps: 18 });
    expect(deepMindSequenceLengths('addition', 1, 1)).toEqual({ inputSteps: 14, outputSteps: 2 });
    expect(deepMindSequenceLengths('copy', 5, 1)).toEqual({ inputSteps: 6, outputSteps: 6 });
    expect(deepMindSequenceLengths('double', 5, 1)).toEqual({ inputSteps: 6, outputSteps: 11 });
  });

  it("vocabulary is Sonnet's: specials, then the sorted digits, literals, keywords and their characters", () => {
    const literals = [
      '+',
      '-',
      '*',
      '=',
      ':',
      '/',
      '(',
      ')',
      ' ',
      'x',
      '|',
      '<',
      '>',
      '[',
      ']',
      '~',
      '!',
      '.',
    ];
    const keywords = ['if', 'for', 'else', 'range'];
    const tokens = new Set([...'0123456789', ...literals, ...keywords]);
    for (const t of [...tokens]) for (const c of t) tokens.add(c);
    const sorted = [...tokens].sort();
    const expected = ['_unk_', '_null_', '_eos_', '|', ...sorted.filter((t) => t !== '|')];
    expect(DEEPMIND_VOCABULARY).toEqual(expected);
    expect(DEEPMIND_VOCABULARY.length).toBe(45);
  });

  it('batches: padded time-major ids, decoder inputs start with ~, deterministic per (seed, step)', () => {
    // (3·4+10)(3-1) + 4·4+10 + 2(3-1) = 74 input steps, 2·4 = 8 output steps.
    const curriculum = new DeepMindCurriculum({ kind: 'mix', maxLength: 4, maxNesting: 3 });
    const batch = deepMindBatch({ seed: 1, step: 7, batchSize: 16, curriculum });
    expect(batch).toMatchObject({ inputSteps: 74, outputSteps: 8, vocabSize: 45, task: 'all' });
    const decode = (ids: Int32Array, steps: number, b: number) =>
      Array.from({ length: steps }, (_, t) => DEEPMIND_VOCABULARY[ids[t * 16 + b]]).join('');
    for (let b = 0; b < 16; b++) {
      const s = batch.samples[b];
      expect(decode(batch.inputs, 74, b)).toBe(s.program.padEnd(74, '.'));
      expect(decode(batch.targets, 8, b)).toBe(s.target.padEnd(8, '.'));
      expect(decode(batch.decoderInputs, 8, b)).toBe(`~${s.target.padEnd(8, '.')}`.slice(0, 8));
      expect([batch.inputLengths[b], batch.targetLengths[b]]).toEqual([
        s.program.length,
        s.target.length,
      ]);
    }
    const again = deepMindBatch({ seed: 1, step: 7, batchSize: 16, curriculum });
    expect(again.inputs).toEqual(batch.inputs);
    expect(deepMindBatch({ seed: 1, step: 8, batchSize: 16, curriculum }).inputs).not.toEqual(
      batch.inputs,
    );
    expect(deepMindBatch({ seed: 2, step: 7, batchSize: 16, curriculum }).inputs).not.toEqual(
      batch.inputs,
    );
  });
});
