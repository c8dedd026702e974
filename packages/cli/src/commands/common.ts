// What the export / eval / generate / serve commands share: output streams, the one-line error
// report, and option parsers.
import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Marks the command as failed (process.exitCode on the command line). */
  fail(code: number): void;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  fail: (code) => {
    process.exitCode = code;
  },
};

/**
 * Wraps a command action: an error becomes one line `urgate <name>: <message>` on stderr and exit
 * code 1, without a stack trace (set URGATE_DEBUG=1 to see it).
 */
export function reportErrors<A extends unknown[]>(
  name: string,
  io: CliIO,
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      const error = e as Error;
      const message = String(error?.message ?? e).split('\n')[0];
      io.err(`urgate ${name}: ${message}\n`);
      if (process.env.URGATE_DEBUG) io.err(`${error?.stack}\n`);
      io.fail(1);
    }
  };
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected an integer');
  return n;
}

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError('expected a number');
  return n;
}

export function positiveNumber(value: string): number {
  const n = finiteNumber(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
}

// The layer settings of the mechanisms that have them (LAYOUT.md, contract's config.ts), one
// definition for every command that builds a layer.

/** OM-/UM-: the master gates' downsize C. */
export const downsizeOption = () =>
  new Option(
    '--downsize <C>',
    "OM-/UM-: master gates are hidden/C wide, at least 2 (default 16; the paper's LMs use 32)",
  ).argParser(positiveInteger);

/** C-: the chrono initialisation's horizon Tmax. */
export const tMaxOption = () =>
  new Option(
    '--t-max <T>',
    'C-: chrono initialisation horizon Tmax (default the hidden size)',
  ).argParser(positiveNumber);

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

export function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n < 1))
    throw new InvalidArgumentError('expected a rate in [0, 1)');
  return n;
}

export function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1))
    throw new InvalidArgumentError('expected a number in (0, 1]');
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535)
    throw new InvalidArgumentError('expected a port number in [0, 65535]');
  return n;
}

/** 0.1234 -> "12.34%". */
export function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** "1 2 3" or "1,2,3" -> [1, 2, 3]; range against the vocabulary is checked with the model. */
export function tokenList(value: string): number[] {
  const parts = value.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0 || parts.some((p) => !/^-?\d+$/.test(p)))
    throw new InvalidArgumentError(
      'expected token ids separated by spaces or commas, e.g. "1 42 7"',
    );
  return parts.map(Number);
}

/**
 * Where a training run writes without --out, the same for every model (`urgate train <task>`,
 * `urgate train lm`): runs/<task>-<mechanism><core>-seed<seed>, e.g. runs/copy-UR-lstm-seed0.
 */
export function defaultRunDir(
  task: string,
  run: { mechanism: string; core: string; seed: number },
): string {
  return join(
    'runs',
    `${task}-${run.mechanism === '-' ? '' : run.mechanism}${run.core}-seed${run.seed}`,
  );
}

/** "20000,40000,200000" -> strictly increasing positive integers; the vocabulary bound is checked with the corpus. */
export function cutoffList(value: string): number[] {
  const parts = value.split(',');
  const cutoffs = parts.map(Number);
  if (
    parts.some((p) => !/^\d+$/.test(p.trim())) ||
    cutoffs.some((c, i) => c < 1 || (i > 0 && c <= cutoffs[i - 1]))
  )
    throw new InvalidArgumentError(
      'expected strictly increasing positive cutoffs separated by commas, e.g. 20000,40000,200000',
    );
  return cutoffs;
}
