// The DeepMind / Sonnet v1 Learning-to-Execute generator (examples/learn_to_execute.py,
// used by Santoro et al. 2018 and the UR-LSTM paper), character-tokenised.
//
// A program is built bottom-up from `nesting` operations. Each operation takes its
// first operand from the previously built operation when there is one, otherwise a
// literal of exactly `length` digits; the other operands are fresh literals. Each
// operation's code is wrapped in parentheses and the outermost pair is removed:
//   add A+B, subtract A-B, multiply A*B, if AifB<CelseD (or >) → A if B<C else D,
//   for x=Afor[k]x+=B → A + k·B with k in 1..9,
//   memory tasks: copy A → A, double A → AA, reverse A → A reversed (as text).
// The target is the final value modulo 10^(length+1) (non-negative) for the program
// tasks and the text itself for the memory tasks.

import type { Random } from '@urgate/random';

export type DeepMindOp = '+' | '-' | '*' | 'if' | 'for' | 'copy' | 'double' | 'reverse';

export type DeepMindTask =
  | 'addition'
  | 'control'
  | 'all'
  | 'algebra'
  | 'alg-ctrl'
  | 'copy'
  | 'double'
  | 'reverse';

/** Operations of each task type (Sonnet's TASK_TYPE_OPS); 'all' is the paper's "Program". */
export const DEEPMIND_TASK_OPS: Readonly<Record<DeepMindTask, readonly DeepMindOp[]>> = {
  addition: ['+'],
  control: ['if', 'for'],
  all: ['+', '-', '*', 'if', 'for'],
  algebra: ['+', '-', '*'],
  'alg-ctrl': ['+', '-', 'if'],
  copy: ['copy'],
  double: ['double'],
  reverse: ['reverse'],
};
export const DEEPMIND_TASKS = Object.keys(DEEPMIND_TASK_OPS) as DeepMindTask[];

const MEMORY_TASKS: readonly DeepMindTask[] = ['copy', 'double', 'reverse'];
export function isMemoryTask(task: DeepMindTask): boolean {
  return MEMORY_TASKS.includes(task);
}

/** Literal lengths are limited so a literal is one 32-bit draw. */
export const DEEPMIND_MAX_LENGTH = 9;

export interface DeepMindSample {
  /** Program text, e.g. "(123+456)*789". */
  program: string;
  /** Expected output text, e.g. "8911" (at most length+1 digits for program tasks). */
  target: string;
  length: number;
  nesting: number;
}

function checkDeepMindTask(task: DeepMindTask): void {
  if (!DEEPMIND_TASKS.includes(task)) {
    throw new Error(`task: expected one of ${DEEPMIND_TASKS.join(', ')}, got '${String(task)}'`);
  }
}

export function checkDeepMindLevel(task: DeepMindTask, length: number, nesting: number): void {
  checkDeepMindTask(task);
  if (!Number.isInteger(length) || length < 1 || length > DEEPMIND_MAX_LENGTH) {
    throw new Error(`length: expected an integer in [1, ${DEEPMIND_MAX_LENGTH}], got ${length}`);
  }
  // Sonnet sizes memory tasks for one operation: deeper ones overflow its sequences.
  const maxNesting = isMemoryTask(task) ? 1 : Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(nesting) || nesting < 1 || nesting > maxNesting) {
    throw new Error(
      `nesting: expected an integer >= 1${isMemoryTask(task) ? ' and = 1 for memory tasks' : ''}, got ${nesting}`,
    );
  }
}

interface Built {
  value: bigint | string;
  code: string;
}

/** One program of the given task at (length, nesting), drawn from `rng`. */
export function generateDeepMindProgram(
  rng: Random,
  task: DeepMindTask,
  length: number,
  nesting: number,
): DeepMindSample {
  checkDeepMindLevel(task, length, nesting);
  const ops = DEEPMIND_TASK_OPS[task];
  const low = 10 ** (length - 1);
  let nested: Built | null = null;
  const operand = (): Built => {
    if (nested) {
      const popped = nested;
      nested = null;
      return popped;
    }
    const value = low + rng.int(10 ** length - low);
    return { value: BigInt(value), code: String(value) };
  };
  let op: DeepMindOp = ops[0];
  for (let level = 0; level < nesting; level++) {
    op = ops[rng.int(ops.length)];
    const built = applyOp(op, rng, operand);
    nested = { value: built.value, code: `(${built.code})` };
  }
  const final = nested as unknown as Built;
  const program = final.code.slice(1, -1);
  if (typeof final.value === 'string') return { program, target: final.value, length, nesting };
  const modulus = 10n ** BigInt(length + 1);
  const target = ((final.value % modulus) + modulus) % modulus;
  return { program, target: target.toString(), length, nesting };
}

function applyOp(op: DeepMindOp, rng: Random, operand: () => Built): Built {
  const num = (b: Built) => b.value as bigint;
  switch (op) {
    case '+':
    case '-':
    case '*': {
      const a = operand();
      const b = operand();
      const value = op === '+' ? num(a) + num(b) : op === '-' ? num(a) - num(b) : num(a) * num(b);
      return { value, code: `${a.code}${op}${b.code}` };
    }
    case 'if': {
      const [a, b, c, d] = [operand(), operand(), operand(), operand()];
      const cmp = rng.int(2) === 0 ? '<' : '>';
      const holds = cmp === '<' ? num(b) < num(c) : num(b) > num(c);
      return {
        value: holds ? num(a) : num(d),
        code: `${a.code}if${b.code}${cmp}${c.code}else${d.code}`,
      };
    }
    case 'for': {
      const a = operand();
      const b = operand();
      const k = 1 + rng.int(9);
      return { value: num(a) + BigInt(k) * num(b), code: `x=${a.code}for[${k}]x+=${b.code}` };
    }
    case 'copy':
    case 'double':
    case 'reverse': {
      const a = operand();
      const text = String(a.value);
      const value =
        op === 'copy' ? text : op === 'double' ? text + text : [...text].reverse().join('');
      return { value, code: a.code };
    }
  }
}

/**
 * Sonnet's sequence sizes for maximum (length L, nesting N): program tasks read
 * (3L+10)(N-1) + 4L+10 + 2(N-1) input characters and emit 2L output characters; copy and
 * reverse read and emit L+1; double reads L+1 and emits 2L+1.
 */
export function deepMindSequenceLengths(
  task: DeepMindTask,
  maxLength: number,
  maxNesting: number,
): { inputSteps: number; outputSteps: number } {
  checkDeepMindLevel(task, maxLength, maxNesting);
  const L = maxLength;
  const N = maxNesting;
  if (task === 'copy' || task === 'reverse') return { inputSteps: L + 1, outputSteps: L + 1 };
  if (task === 'double') return { inputSteps: L + 1, outputSteps: 2 * L + 1 };
  return { inputSteps: (3 * L + 10) * (N - 1) + 4 * L + 10 + 2 * (N - 1), outputSteps: 2 * L };
}

/**
 * Sonnet's vocabulary in its order: unknown (0), null, end-of-sequence, the "|"
 * separator, then the sorted set of digits, literals, keywords and their characters.
 * Programs are tokenised per character, so the keyword entries are never produced.
 */
export const DEEPMIND_VOCABULARY: readonly string[] = [
  '_unk_',
  '_null_',
  '_eos_',
  '|',
  ' ',
  '!',
  '(',
  ')',
  '*',
  '+',
  '-',
  '.',
  '/',
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  ':',
  '<',
  '=',
  '>',
  '[',
  ']',
  'a',
  'e',
  'else',
  'f',
  'for',
  'g',
  'i',
  'if',
  'l',
  'n',
  'o',
  'r',
  'range',
  's',
  'x',
  '~',
];
export const DEEPMIND_START = '~';
export const DEEPMIND_END = '!';
export const DEEPMIND_PAD = '.';

const DEEPMIND_INDEX = new Map(DEEPMIND_VOCABULARY.map((t, i) => [t, i]));

/** Token id of one character (0, unknown, for characters outside the vocabulary). */
export function deepMindTokenId(char: string): number {
  return DEEPMIND_INDEX.get(char) ?? 0;
}
