import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { expect, vi } from 'vitest';
import type { CliIO } from '../src/commands/common.js';

/** The `urgate` command line from its sources, for child processes (`node ...fromSource urgateBin`). */
export const urgateBin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** Runs a command built for captured output; returns what it wrote and the exit code it asked for. */
export async function runCommand(
  build: (io: CliIO) => Command,
  args: string[],
): Promise<{ out: string; err: string; code: number }> {
  const r = { out: '', err: '', code: 0 };
  const io: CliIO = {
    out: (t: string) => {
      r.out += t;
    },
    err: (t: string) => {
      r.err += t;
    },
    fail: (c: number) => {
      r.code = c;
    },
  };
  await build(io).exitOverride().parseAsync(args, { from: 'user' });
  return r;
}

/**
 * Runs a command that writes to process.stdout/stderr and sets process.exitCode (as under
 * bin.ts), with both streams captured; returns them and the exit status it set.
 */
export async function runCaptured(
  command: Command,
  args: string[],
): Promise<{ out: string; err: string; status: number | string | undefined }> {
  let out = '';
  let err = '';
  const spyOut = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    await command.exitOverride().parseAsync(args, { from: 'user' });
  } finally {
    spyOut.mockRestore();
    spyErr.mockRestore();
  }
  const status = process.exitCode;
  process.exitCode = undefined;
  return { out, err, status };
}

/**
 * Each case fails: exit code 1 and one line on stderr matching its pattern (and, with
 * `silent`, nothing on stdout).
 */
export async function expectOneLineErrors(
  run: (args: string[]) => Promise<{ out: string; err: string; code: number }>,
  cases: [string[], RegExp][],
  { silent = false } = {},
): Promise<void> {
  for (const [args, message] of cases) {
    const r = await run(args);
    expect({ args, code: r.code, lines: r.err.trimEnd().split('\n').length }).toEqual({
      args,
      code: 1,
      lines: 1,
    });
    expect(r.err).toMatch(message);
    if (silent) expect(r.out).toBe('');
  }
}
