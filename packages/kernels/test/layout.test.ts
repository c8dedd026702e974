// The kernels' column layout (csrc/layout.cc, through the addon) against @urgate/contract's
// mechanism table and layout, for every core × mechanism: one contract, checked where it is
// compiled in.
import { CORES, gateFamily, layerLayout, MECHANISMS } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { native, nativeLoadError } from '../src/native.js';

const d = 12;
const C = 3;

describe.skipIf(native === undefined)(
  `C++ layout = @urgate/contract layout${native ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    for (const core of CORES)
      for (const mechanism of MECHANISMS)
        it(`${mechanism}${core.toUpperCase()}`, () => {
          const spec = layerLayout({ core, mechanism, inputSize: 5, hiddenSize: d, downsize: C });
          const kernel = native?.layout({
            core,
            mechanism,
            inputSize: 5,
            hiddenSize: d,
            downsize: C,
            batch: 1,
            steps: 1,
          });
          expect(kernel?.family).toBe(gateFamily(mechanism));
          expect(kernel?.cols).toBe(spec.cols);
          const offsets = Object.fromEntries(spec.blocks.map((b) => [b.name, b.offset]));
          for (const name of ['f', 'i', 'r', 's', 'u', 'o', 'mf', 'mi'] as const)
            expect(kernel?.[name], name).toBe(offsets[name] ?? -1);
          const master = spec.blocks.find((b) => b.name === 'mf');
          expect(kernel?.masters).toBe(master?.width ?? 0);
        });
  },
);
