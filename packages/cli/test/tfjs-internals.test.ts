// The check that keeps tfjs's private internals out of urgate (tools/check-tfjs-internals.mjs,
// part of `npm run check:static`) passes on the tree and fails on each kind of read it refuses.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tfjsInternalUses } from '../../../tools/check-tfjs-internals.mjs';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('tfjs internals check', () => {
  it('passes on the tree', () => {
    expect(tfjsInternalUses(root)).toEqual([]);
  });

  it('names the file, line and kind of each private read', () => {
    expect(
      tfjsInternalUses(root, {
        'packages/kernels/src/a.ts':
          'const b = tf.backend() as any;\nconst v = b.data.get(t.dataId).values;\n',
        'packages/train/src/b.ts':
          "tf.engine().startScope();\ntf.registerKernel({ kernelName: 'MatMul' });\n",
        'packages/train/src/c.ts': "setFlagsFromString('--expose-gc');\n",
      }),
    ).toEqual([
      'packages/kernels/src/a.ts:1: tf.backend() (the backend object and its private storage)',
      "packages/kernels/src/a.ts:2: a tensor's dataId (the backend's private buffer handle)",
      "packages/train/src/b.ts:1: tf.engine() (the engine's internals)",
      'packages/train/src/b.ts:2: a tfjs kernel registration (a process-wide swap of tfjs ops)',
      'packages/train/src/c.ts:1: V8 flags set at run time (forced collections)',
    ]);
  });
});
