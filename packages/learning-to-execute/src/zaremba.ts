// Zaremba & Sutskever's Learning-to-Execute generator (wojciechz/learning_to_execute,
// data.lua and utils/operations.lua): small Python programs.
//
// `nesting` building blocks are composed; each takes its operands from the block built
// before it when there is one (placed at a uniformly random operand position), else
// draws a literal uniformly from [1, 10^length]. Blocks:
//   pair      (A+B) or (A-B)
//   smallmul  (A*k) or (k*A), k uniform in [1, 4·length]
//   equality  A
//   vars      statement "v=A;", expression (v+B) or (v-B)
//   smallloop statements "v=A", "for x in range(n):v+=B" (or -=), n in [1, 4·length];
//             expression v
//   ifstat    (C if A>B else D) or with <
// Variables are distinct letters drawn from a random permutation of a..j. The program is
// the statements, each followed by "#", then "print(expression)"; the target is the
// printed integer followed by ".". The model reads program + "@" + target (the "@" go
// marker of to_data) and is scored on the target characters.
//
// Each draw of `length` asks the curriculum again (so "mix" resamples it per literal);
// the nesting is drawn once per program.

import type { Random } from '@urgate/random';

export type ZarembaBlock = 'pair' | 'smallmul' | 'equality' | 'vars' | 'smallloop' | 'ifstat';
export const ZAREMBA_BLOCKS: readonly ZarembaBlock[] = [
  'pair',
  'smallmul',
  'equality',
  'vars',
  'smallloop',
  'ifstat',
];

/** Literals are one 32-bit draw; a..j allow at most 10 variables. */
export const ZAREMBA_MAX_LENGTH = 9;
export const ZAREMBA_MAX_NESTING = 10;

/** Source of the hardness: `length()` per draw, `nesting` once per program. */
export interface ZarembaHardness {
  nesting: number;
  length: () => number;
}

export interface ZarembaSample {
  /** Python source with statements separated by "#", ending with print(...). */
  program: string;
  /** Printed integer followed by ".", e.g. "25011." or "-12.". */
  target: string;
  /** The integer value of the program. */
  value: bigint;
  nesting: number;
}

interface Operand {
  expr: string;
  value: bigint;
}

function checkLength(length: number): number {
  if (!Number.isInteger(length) || length < 1 || length > ZAREMBA_MAX_LENGTH) {
    throw new Error(`length: expected an integer in [1, ${ZAREMBA_MAX_LENGTH}], got ${length}`);
  }
  return length;
}

export function checkZarembaNesting(nesting: number): void {
  if (!Number.isInteger(nesting) || nesting < 1 || nesting > ZAREMBA_MAX_NESTING) {
    throw new Error(`nesting: expected an integer in [1, ${ZAREMBA_MAX_NESTING}], got ${nesting}`);
  }
}

export function generateZarembaProgram(rng: Random, hardness: ZarembaHardness): ZarembaSample {
  checkZarembaNesting(hardness.nesting);
  const length = () => checkLength(hardness.length());
  const variables = rng
    .shuffle(Array.from({ length: 10 }, (_, i) => i))
    .map((i) => String.fromCharCode(97 + i));
  let nextVariable = 0;
  let nested: Operand | null = null;
  const operand = (): Operand => {
    if (nested) {
      const popped = nested;
      nested = null;
      return popped;
    }
    const value = 1 + rng.int(10 ** length());
    return { expr: String(value), value: BigInt(value) };
  };
  // The nested operand goes to a uniformly random position among the n operands.
  const operands = (n: number): Operand[] => {
    const positions = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const out = new Array<Operand>(n);
    for (const p of positions) out[p] = operand();
    return out;
  };
  const coin = () => rng.int(2) === 0;
  const statements: string[] = [];

  for (let level = 0; level < hardness.nesting; level++) {
    const block = ZAREMBA_BLOCKS[rng.int(ZAREMBA_BLOCKS.length)];
    switch (block) {
      case 'pair': {
        const [a, b] = operands(2);
        nested = coin()
          ? { expr: `(${a.expr}+${b.expr})`, value: a.value + b.value }
          : { expr: `(${a.expr}-${b.expr})`, value: a.value - b.value };
        break;
      }
      case 'smallmul': {
        const a = operand();
        const k = 1 + rng.int(4 * length());
        const expr = coin() ? `(${a.expr}*${k})` : `(${k}*${a.expr})`;
        nested = { expr, value: a.value * BigInt(k) };
        break;
      }
      case 'equality':
        nested = operand();
        break;
      case 'vars': {
        const v = variables[nextVariable++];
        const [a, b] = operands(2);
        statements.push(`${v}=${a.expr};`);
        nested = coin()
          ? { expr: `(${v}+${b.expr})`, value: a.value + b.value }
          : { expr: `(${v}-${b.expr})`, value: a.value - b.value };
        break;
      }
      case 'smallloop': {
        const v = variables[nextVariable++];
        const [a, b] = operands(2);
        const n = 1 + rng.int(4 * length());
        const add = coin();
        statements.push(`${v}=${a.expr}`, `for x in range(${n}):${v}${add ? '+' : '-'}=${b.expr}`);
        const step = BigInt(n) * b.value;
        nested = { expr: v, value: add ? a.value + step : a.value - step };
        break;
      }
      case 'ifstat': {
        const [a, b, c, d] = operands(4);
        const greater = coin();
        const holds = greater ? a.value > b.value : a.value < b.value;
        nested = {
          expr: `(${c.expr} if ${a.expr}${greater ? '>' : '<'}${b.expr} else ${d.expr})`,
          value: holds ? c.value : d.value,
        };
        break;
      }
    }
  }
  const final = nested as unknown as Operand;
  const program = `${statements.map((s) => `${s}#`).join('')}print(${final.expr})`;
  return { program, target: `${final.value}.`, value: final.value, nesting: hardness.nesting };
}

/** Separator between program and target in the character stream. */
export const ZAREMBA_GO = '@';

/**
 * Characters of the Zaremba grammar, token ids 1..; id 0 is padding / "no target" (as the
 * 0 entries of the original's target stream).
 */
export const ZAREMBA_VOCABULARY: readonly string[] = [
  '',
  ...[...new Set('0123456789abcdefghijx()+-*=;:<>#@. forinrangeprintifelse')].sort(),
];
const ZAREMBA_INDEX = new Map(ZAREMBA_VOCABULARY.map((c, i) => [c, i]));

export function zarembaTokenId(char: string): number {
  const id = ZAREMBA_INDEX.get(char);
  if (id === undefined || id === 0) {
    throw new Error(`Zaremba vocabulary: character '${char}' is not in the grammar's alphabet`);
  }
  return id;
}
