// What the resume tests of runs written before a change share (LM, task and l2e trainers): a
// fixture directory holds the training state and metrics of a run stopped early
// (`<stop>.checkpoint.safetensors`, `<stop>.metrics.jsonl`) and the files of the same run
// uninterrupted (`whole.*`), all written by the code before the change. Resumed by the code after
// it, the run must write the same metrics and the same tensors, every byte.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '@urgate/contract';
import { expect } from 'vitest';

/** Two checkpoint files hold the same tensor names, every tensor's bytes equal. */
async function expectSameTensors(path: string, expectedPath: string): Promise<void> {
  const got = (await loadCheckpoint(path)).tensors;
  const want = (await loadCheckpoint(expectedPath)).tensors;
  expect(Object.keys(got).sort(), path).toEqual(Object.keys(want).sort());
  for (const [tensor, t] of Object.entries(want))
    expect(
      Buffer.from(got[tensor].data.buffer).equals(Buffer.from(t.data.buffer)),
      `${path} ${tensor}`,
    ).toBe(true);
}

/** A run directory's file names (the shared loop's LOOP_FILES and the trainer's model file). */
interface RunFiles {
  checkpoint: string;
  metrics: string;
  model: string;
}

/**
 * Puts the fixture's stopped run into `out` (an empty directory), resumes it with `resume`, and
 * expects the uninterrupted run's metrics text, final model and training state. Returns what
 * `resume` returned and the uninterrupted run's result.json, for the trainer's own checks.
 */
export async function expectResumedAsWhole<R>(
  fixture: string,
  stop: string,
  out: string,
  files: RunFiles,
  resume: () => Promise<R>,
): Promise<{ result: R; whole: Record<string, unknown> }> {
  copyFileSync(join(fixture, `${stop}.checkpoint.safetensors`), join(out, files.checkpoint));
  copyFileSync(join(fixture, `${stop}.metrics.jsonl`), join(out, files.metrics));
  const result = await resume();
  expect(readFileSync(join(out, files.metrics), 'utf8')).toBe(
    readFileSync(join(fixture, 'whole.metrics.jsonl'), 'utf8'),
  );
  await expectSameTensors(join(out, files.model), join(fixture, 'whole.model.safetensors'));
  await expectSameTensors(
    join(out, files.checkpoint),
    join(fixture, 'whole.checkpoint.safetensors'),
  );
  return { result, whole: JSON.parse(readFileSync(join(fixture, 'whole.result.json'), 'utf8')) };
}
