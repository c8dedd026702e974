import type { SequenceKernel } from '@urgate/cells';
import { runLayerFused } from './fused-layer.js';
import { requireNative } from './native.js';

/**
 * The layer kernel of an engine, for cells' runLayerWith / runStack's `kernel`: native, the fused
 * op (an error naming the build step without the addon); reference, null (the tfjs cells). A run
 * passes it explicitly: nothing is installed process-wide.
 */
export function sequenceKernel(engine: 'native' | 'reference'): SequenceKernel | null {
  if (engine === 'reference') return null;
  if (engine !== 'native')
    throw new Error(`engine: expected 'native' or 'reference', got ${JSON.stringify(engine)}`);
  requireNative('the native engine');
  return runLayerFused;
}
