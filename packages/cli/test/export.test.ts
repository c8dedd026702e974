import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '@urgate/onnx/runtime';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../src/commands/export.js';
import { runCommand } from './runCommand.js';

function run(args: string[]) {
  return runCommand(exportCommand, args);
}

describe('urgate export', () => {
  let tiny: TinyModel;
  beforeAll(async () => {
    tiny = await tinyModel();
  });

  it('writes the step, sequence and gates graphs (and a Triton repository) and names them', async () => {
    const out = await mkdtemp(join(tmpdir(), 'urgate-export-'));
    const r = await run([
      tiny.checkpoint,
      '--out',
      join(out, 'onnx'),
      '--name',
      'lm',
      '--triton',
      join(out, 'triton'),
    ]);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter(Boolean)).toEqual([
      `step graph:     ${join(out, 'onnx', 'lm.step.onnx')}`,
      `sequence graph: ${join(out, 'onnx', 'lm.sequence.onnx')}`,
      `gates graph:    ${join(out, 'onnx', 'lm.gates.onnx')}`,
      `triton model:   ${join(out, 'triton', 'lm_step')}`,
      `triton model:   ${join(out, 'triton', 'lm_sequence')}`,
    ]);
    const step = await openModel(join(out, 'onnx', 'lm.step.onnx'));
    const sequence = await openModel(join(out, 'onnx', 'lm.sequence.onnx'));
    const gates = await openModel(join(out, 'onnx', 'lm.gates.onnx'));
    expect([step.metadata.graph, sequence.metadata.graph, gates.metadata.graph]).toEqual([
      'lm-step',
      'lm-sequence',
      'lm-gates',
    ]);
    await gates.close();
    expect(step.metadata.tokenizer).toMatchObject({
      kind: 'word',
      checksum: tiny.tokenizer.identity.checksum,
    });
    await step.close();
    await sequence.close();
    expect(await readFile(join(out, 'triton', 'lm_step', 'config.pbtxt'), 'utf8')).toMatch(
      /name: "lm_step"/,
    );
  });

  it('the file stem defaults to the checkpoint name', async () => {
    const out = await mkdtemp(join(tmpdir(), 'urgate-export-'));
    const r = await run([tiny.checkpoint, '--out', out]);
    expect(r.out).toContain(join(out, 'tiny.step.onnx'));
  });

  it('bad checkpoints: one line on stderr, exit code 1', async () => {
    const notCheckpoint = join(tiny.dir, 'notes.safetensors');
    await writeFile(notCheckpoint, 'plain text, not safetensors');
    for (const [file, message] of [
      [join(tiny.dir, 'missing.safetensors'), /^urgate export: .*missing\.safetensors/],
      [notCheckpoint, /^urgate export: .*notes\.safetensors/],
    ] as const) {
      const r = await run([file, '--out', join(tiny.dir, 'never')]);
      expect(r.code).toBe(1);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
  });
});
