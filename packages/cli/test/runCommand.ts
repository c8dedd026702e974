import type { Command } from 'commander';
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
