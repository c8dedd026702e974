// The resume tests' comparison of two checkpoint files: the same tensor names, every tensor's
// bytes equal.
import { loadCheckpoint } from '@urgate/contract';
import { expect } from 'vitest';

export async function expectSameTensors(path: string, expectedPath: string): Promise<void> {
  const got = (await loadCheckpoint(path)).tensors;
  const want = (await loadCheckpoint(expectedPath)).tensors;
  expect(Object.keys(got).sort(), path).toEqual(Object.keys(want).sort());
  for (const [tensor, t] of Object.entries(want))
    expect(
      Buffer.from(got[tensor].data.buffer).equals(Buffer.from(t.data.buffer)),
      `${path} ${tensor}`,
    ).toBe(true);
}
