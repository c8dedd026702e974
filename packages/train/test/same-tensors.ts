// The resume tests' comparison of two checkpoint files (the same tensor names, every tensor's
// bytes equal), and of a resumed run with a fixture's uninterrupted run.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '@urgate/contract';
import { expect } from 'vitest';

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

/** A trainer's file names in its run directory (LM_FILES, RUN_FILES). */
interface RunFiles {
  checkpoint: string;
  metrics: string;
  model: string;
}

/**
 * A fixture run: `step<N>.checkpoint.safetensors` and `step<N>.metrics.jsonl` of a run stopped
 * after N steps, and `whole.*` of the same run uninterrupted.
 */
export function resumeFromFixture(fixture: string, step: number, out: string, files: RunFiles) {
  mkdirSync(out, { recursive: true });
  copyFileSync(join(fixture, `step${step}.checkpoint.safetensors`), join(out, files.checkpoint));
  copyFileSync(join(fixture, `step${step}.metrics.jsonl`), join(out, files.metrics));
}

/**
 * The resumed run in `out` wrote the uninterrupted run's metrics, model and training state, bit
 * for bit; returns the uninterrupted run's result.json.
 */
export async function expectFixtureRun(
  fixture: string,
  out: string,
  files: RunFiles,
): Promise<Record<string, unknown>> {
  expect(readFileSync(join(out, files.metrics), 'utf8')).toBe(
    readFileSync(join(fixture, 'whole.metrics.jsonl'), 'utf8'),
  );
  await expectSameTensors(join(out, files.model), join(fixture, 'whole.model.safetensors'));
  await expectSameTensors(
    join(out, files.checkpoint),
    join(fixture, 'whole.checkpoint.safetensors'),
  );
  return JSON.parse(readFileSync(join(fixture, 'whole.result.json'), 'utf8'));
}
