// sequenceKernel(engine): the layer kernel a run passes to cells' runLayerWith / runStack.
import * as tf from '@tensorflow/tfjs';
import { initLayerParams, runStack, zeroState } from '@urgate/cells';
import { describe, expect, it } from 'vitest';
import { runLayerFused } from '../src/fused-layer.js';
import { nativeAvailable, nativeLoadError } from '../src/native.js';
import { sequenceKernel } from '../src/sequence-kernel.js';

describe('sequenceKernel', () => {
  it('is null (the tfjs reference) for the reference engine and refuses other names', () => {
    expect(sequenceKernel('reference')).toBeNull();
    expect(() => sequenceKernel('gpu' as 'native')).toThrow(
      /^engine: expected 'native' or 'reference', got "gpu"$/,
    );
  });

  it.skipIf(!nativeAvailable)(
    `is runLayerFused for the native engine, and runStack given it runs the fused op${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
    () => {
      const kernel = sequenceKernel('native');
      expect(kernel).toBe(runLayerFused);
      const cfg = { core: 'lstm' as const, mechanism: 'UR-' as const, inputSize: 3, hiddenSize: 4 };
      const params = initLayerParams(cfg, 2);
      const xs = tf.randomNormal([5, 2, 3], 0, 1, 'float32', 7) as tf.Tensor3D;
      const state0 = zeroState(cfg, 2);
      const stacked = runStack({ ...cfg, numLayers: 1 }, [params], xs, [state0], { kernel });
      const fused = runLayerFused(cfg, params, xs, state0);
      expect(Array.from(stacked.outputs.dataSync())).toEqual(Array.from(fused.outputs.dataSync()));
    },
  );
});
