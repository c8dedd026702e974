// The dependency-direction check (tools/check-dependencies.mjs) passes on the tree and fails on
// deliberate wrong-way imports.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dependencyViolations, LAYERS, readWorkspace } from '../../../tools/check-dependencies.mjs';

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
      'packages/contract/src/wrong.ts': "import { gate } from '@urgate/cells';\n",
      'packages/cells/src/wrong.ts': "export { trainLm } from '@urgate/train';\n",
      'packages/onnx/src/wrong.ts': "const tf = await import('@tensorflow/tfjs');\n",
    });
    expect(dependencyViolations(packages)).toEqual([
      'packages/cells/src/wrong.ts imports @urgate/train, which is not a dependency of @urgate/cells',
      'packages/contract/src/wrong.ts imports @urgate/cells, which is not a dependency of @urgate/contract',
      'packages/onnx/src/wrong.ts imports @tensorflow/tfjs, but @urgate/onnx must load without tfjs',
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

  it('reads test/, bench/ and dev/: an undeclared or wrong-way import there, a path or file URL into another package', () => {
    // Built from parts, so that the check reading this file does not see the imports themselves.
    const importOf = (specifier: string) => `import { x } from '${specifier}';\n`;
    const urlOf = (path: string) => `const hook = new URL('${path}', import.meta.url);\n`;
    const packages = readWorkspace(root, {
      'packages/kernels/bench/rmc-bench.ts': importOf('@urgate/rmc'),
      'packages/cli/test/path.test.ts': importOf('../../serve/test/fixture.js'),
      'packages/onnx/test/url.test.ts': urlOf('../../serve/dev/hook.mjs'),
    });
    expect(dependencyViolations(packages)).toEqual([
      'packages/cli/test/path.test.ts reaches into packages/serve/ by a relative path; import @urgate/serve by name (shared test fixtures: @urgate/test-support)',
      'packages/kernels/bench/rmc-bench.ts imports @urgate/rmc, which is not a dependency or devDependency of @urgate/kernels',
      'packages/onnx/test/url.test.ts reaches into packages/serve/ by a relative path; import @urgate/serve by name (shared test fixtures: @urgate/test-support)',
    ]);
    const declared = packages.map((p) =>
      p.name === '@urgate/kernels'
        ? { ...p, devDependencies: [...p.devDependencies, '@urgate/rmc'] }
        : p,
    );
    const violations = dependencyViolations(declared);
    expect(violations).toContain(
      "@urgate/kernels devDepends on @urgate/rmc: a package's tests use packages below or beside it, not above",
    );
    expect(violations).toContain(
      'packages/kernels/bench/rmc-bench.ts imports @urgate/rmc: a wrong-way import (@urgate/kernels is below it)',
    );
    // rmc depends on kernels: with kernels' devDependency on rmc the graph has a cycle.
    expect(violations.filter((v) => v.startsWith('dependency cycle: '))).toEqual([
      'dependency cycle: @urgate/kernels -> @urgate/rmc -> @urgate/kernels',
    ]);
  });

  it('a published package may not depend on a private one (the test fixtures)', () => {
    const packages = readWorkspace(root).map((p) =>
      p.name === '@urgate/serve'
        ? { ...p, dependencies: [...p.dependencies, '@urgate/test-support'] }
        : p,
    );
    expect(dependencyViolations(packages)).toEqual([
      '@urgate/serve depends on the private @urgate/test-support: list it in devDependencies',
      '@urgate/serve reaches tfjs through @urgate/serve -> @urgate/test-support -> @urgate/cells -> @tensorflow/tfjs',
    ]);
  });

  it("is the README's dependency picture and package map", () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const picture = readme
      .split('Dependencies run one way, from lower layers to higher:')[1]
      .split(/\.\s/)[0];
    const name = (short: string) => (short === 'cli' ? 'urgate' : `@urgate/${short}`);
    const layers = picture
      .split('→')
      .map((layer) => [...layer.matchAll(/`([a-z-]+)`/g)].map((m) => name(m[1])).sort());
    expect(layers).toEqual(LAYERS.map((layer) => [...layer].sort()));
    const mapped = [...readme.matchAll(/^\| `packages\/[a-z-]+` \| `([^`]+)` \|/gm)].map(
      (m) => m[1],
    );
    expect(mapped.sort()).toEqual(
      readWorkspace(root)
        .map((p) => p.name)
        .sort(),
    );
  });
});
