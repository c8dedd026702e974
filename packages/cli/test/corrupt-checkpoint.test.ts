// A checkpoint with one flipped data byte, or with a NaN weight, is refused with one line naming
// the file (and the tensor), exit status 1: by `urgate export` and by `urgate train --resume`.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCheckpoint, loadCheckpoint } from '@urgate/contract';
import { nativeAvailable } from '@urgate/kernels';
import { tinyModel } from '@urgate/test-support';
import { describe, expect, it, vi } from 'vitest';
import { exportCommand } from '../src/commands/export.js';
import { trainCommand } from '../src/commands/train.js';
import { runCommand } from './runCommand.js';

/** The same file with one byte of its last tensor's data flipped. */
async function flipped(path: string, to: string): Promise<string> {
  const bytes = await readFile(path);
  bytes[bytes.length - 2] ^= 0x10;
  await writeFile(to, bytes);
  return to;
}

describe('corrupt checkpoints', () => {
  it('urgate export refuses a flipped data byte and a NaN weight, naming the file and tensor', async () => {
    const tiny = await tinyModel();
    const dir = await mkdtemp(join(tmpdir(), 'urgate-corrupt-'));
    const bad = await flipped(tiny.checkpoint, join(dir, 'flipped.safetensors'));
    const r = await runCommand(exportCommand, [bad, '--out', join(dir, 'onnx')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `^urgate export: ${bad.replace(/[.]/g, '\\.')}: the tensor data does not match the file's checksum \\(sha256 [0-9a-f]{12}…, recorded [0-9a-f]{12}…\\): the file is corrupt\n$`,
      ),
    );
    const { tensors, meta } = await loadCheckpoint(tiny.checkpoint);
    tensors['layers.0.b'].data[3] = Number.NaN;
    const nan = join(dir, 'nan.safetensors');
    await writeFile(nan, encodeCheckpoint(tensors, meta));
    const n = await runCommand(exportCommand, [nan, '--out', join(dir, 'onnx')]);
    expect([n.code, n.err]).toEqual([
      1,
      `urgate export: ${nan}: tensor layers.0.b holds a non-finite value (NaN at element 3); refusing to load it\n`,
    ]);
  });

  it.skipIf(!nativeAvailable)(
    'urgate train --resume refuses a corrupt training state',
    async () => {
      const out = await mkdtemp(join(tmpdir(), 'urgate-corrupt-run-'));
      const args = [
        'copy',
        '--length',
        '3',
        '--hidden-size',
        '8',
        '--batch-size',
        '2',
        '--steps',
        '2',
      ];
      const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      let err = '';
      const errors = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        err += String(chunk);
        return true;
      });
      try {
        await trainCommand()
          .exitOverride()
          .parseAsync([...args, '--no-progress', '--out', out], { from: 'user' });
        const state = join(out, 'checkpoint.safetensors');
        await flipped(state, state);
        process.exitCode = undefined;
        await trainCommand()
          .exitOverride()
          .parseAsync([...args, '--steps', '4', '--no-progress', '--resume', '--out', out], {
            from: 'user',
          });
        expect(process.exitCode).toBe(1);
        expect(err).toMatch(
          new RegExp(
            `^urgate train: ${state.replace(/[.]/g, '\\.')}: the tensor data does not match the file's checksum .*corrupt\\n$`,
          ),
        );
      } finally {
        quiet.mockRestore();
        errors.mockRestore();
        process.exitCode = undefined;
      }
    },
  );
});
