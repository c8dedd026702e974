// The dependency-direction check (tools/check-dependencies.mjs) passes on the tree and fails on
// deliberate wrong-way imports.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dependencyViolations, readWorkspace } from '../../../tools/check-dependencies.mjs';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('dependency direction', () => {
  it('holds for the tree, whose imports it reads', () => {
    const packages = readWorkspace(root);
    const train = packages.find((p) => p.name === '@urgate/train');
    expect(train?.imports).toContainEqual({
      file: 'packages/train/src/loop.ts',
      pkg: '@urgate/kernels',
    });
    expect(dependencyViolations(packages)).toEqual([]);
  });

  it('fails on a wrong-way import, an undeclared one, and tfjs in a tfjs-free package', () => {
    const packages = readWorkspace(root, {
      'packages/spec/src/wrong.ts': "import { gate } from '@urgate/cells';\n",
      'packages/cells/src/wrong.ts': "export { trainLm } from '@urgate/train';\n",
      'packages/onnx/src/wrong.ts': "const tf = await import('@tensorflow/tfjs');\n",
    });
    expect(dependencyViolations(packages)).toEqual([
      'packages/cells/src/wrong.ts imports @urgate/train, which is not a dependency of @urgate/cells',
      'packages/onnx/src/wrong.ts imports @tensorflow/tfjs, but @urgate/onnx must load without tfjs',
      'packages/spec/src/wrong.ts imports @urgate/cells, which is not a dependency of @urgate/spec',
    ]);
  });

  it('fails on a wrong-way dependency in package.json, and on tfjs reached through one', () => {
    const packages = readWorkspace(root).map((p) =>
      p.name === '@urgate/onnx' ? { ...p, dependencies: [...p.dependencies, '@urgate/cells'] } : p,
    );
    expect(dependencyViolations(packages)).toEqual([
      '@urgate/onnx depends on @urgate/cells: dependencies run from lower layers to higher only',
      '@urgate/onnx reaches tfjs through @urgate/onnx -> @urgate/cells -> @tensorflow/tfjs',
      '@urgate/serve reaches tfjs through @urgate/serve -> @urgate/onnx -> @urgate/cells -> @tensorflow/tfjs',
    ]);
  });
});
