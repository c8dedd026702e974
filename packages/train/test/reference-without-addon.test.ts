// The reference engines of the task and l2e trainers run where the native addon is not built:
// tfjs computes the model and the TypeScript Adam updates the arenas. The addon is left unloaded
// (URGATE_NO_NATIVE=1, set before this file's modules load); the native engine then refuses in
// one line naming the build step.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

process.env.URGATE_NO_NATIVE = '1';
const { nativeAvailable } = await import('@urgate/kernels/native');
const { resolveL2eRunConfig, trainL2e } = await import('../src/l2e/index.js');
const { resolveTaskRunConfig, trainTask } = await import('../src/tasks/index.js');
delete process.env.URGATE_NO_NATIVE; // read once, when the addon's loader loaded

const out = (name: string) => mkdtempSync(join(tmpdir(), `urgate-no-addon-${name}-`));
const l2e = { length: 2, nesting: 1, hiddenSize: 6, batchSize: 3, steps: 2, evalEvery: 2 };
const copy = { task: 'copy', length: 3, hiddenSize: 6, batchSize: 4, steps: 2, evalEvery: 2 };

describe('without the native addon', () => {
  it('urgate train l2e and copy train on the reference engine', async () => {
    expect(nativeAvailable).toBe(false);
    const r = await trainL2e(resolveL2eRunConfig({ ...l2e, evalSize: 1, engine: 'reference' }), {
      outDir: out('l2e'),
      progress: null,
    });
    expect(r.outcome).toBe('finished');
    expect(r.final?.loss).toBeGreaterThan(0);
    const t = await trainTask(resolveTaskRunConfig({ ...copy, evalSize: 1, engine: 'reference' }), {
      outDir: out('copy'),
      progress: null,
    });
    expect(t.outcome).toBe('finished');
  }, 60_000);

  it('the native engine refuses in one line naming the build step', async () => {
    await expect(
      trainL2e(resolveL2eRunConfig(l2e), { outDir: out('l2e-native'), progress: null }),
    ).rejects.toThrow(
      /^NativeL2eModel: the native kernels are not available: .*npm run build:native/,
    );
    await expect(
      trainTask(resolveTaskRunConfig(copy), { outDir: out('copy-native'), progress: null }),
    ).rejects.toThrow(
      /^NativeTaskModel: the native kernels are not available: .*npm run build:native/,
    );
  });
});
