import {
  registeredSequenceKernel,
  registerSequenceKernel,
  type SequenceKernel,
} from '@urgate/cells';
import { runLayerFused } from './fused-layer.js';
import { nativeAvailable, nativeLoadError, requireNative } from './native.js';

let warned = false;

/**
 * Routes @urgate/cells' runLayer through runLayerFused. Returns false (warning once) when the
 * addon is not built; everything then keeps running on the references.
 */
export function useNativeKernels(): boolean {
  if (!nativeAvailable) {
    if (!warned)
      console.warn(
        `@urgate/kernels: native kernels unavailable, using the tfjs reference: ${nativeLoadError}`,
      );
    warned = true;
    return false;
  }
  registerSequenceKernel(runLayerFused);
  return true;
}

/** Undoes useNativeKernels: the references again. */
export function useReferenceKernels(): void {
  registerSequenceKernel(null);
}

/** Whether useNativeKernels is in effect (cells' runLayer goes to runLayerFused). */
export function nativeKernelsInUse(): boolean {
  return registeredSequenceKernel() === runLayerFused;
}

/**
 * The layer kernel of an engine, for cells' runLayerWith / runStack's `kernel`: native, the fused
 * op (an error naming the build step without the addon); reference, null (the tfjs cells).
 */
export function sequenceKernel(engine: 'native' | 'reference'): SequenceKernel | null {
  if (engine === 'reference') return null;
  requireNative('the native engine');
  return runLayerFused;
}
