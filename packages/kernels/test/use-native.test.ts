// useNativeKernels wires the fused op into @urgate/cells' runLayer.
import { registeredSequenceKernel } from '@urgate/cells';
import { describe, expect, it } from 'vitest';
import { runLayerFused } from '../src/fused-layer.js';
import { nativeAvailable, nativeLoadError } from '../src/native.js';
import { useNativeKernels, useReferenceKernels } from '../src/use-native.js';

describe.skipIf(!nativeAvailable)(
  `useNativeKernels${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    it('registers runLayerFused as cells sequence kernel and undoes it', () => {
      expect(useNativeKernels()).toBe(true);
      expect(registeredSequenceKernel()).toBe(runLayerFused);
      useReferenceKernels();
      expect(registeredSequenceKernel()).toBeNull();
    });
  },
);
