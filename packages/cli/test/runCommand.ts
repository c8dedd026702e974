import type { Command } from 'commander';
import { vi } from 'vitest';
import type { CliIO } from '../src/commands/common.js';

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
