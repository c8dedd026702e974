/**
 * Which implementation runs a model: `native` (the C++ kernels and model objects of
 * @urgate/kernels) or `reference` (the pure-tfjs cells with autodiff: the ground truth the native
 * paths are tested against, and what runs where the addon is not built). A run chooses it once,
 * here, and records it in its config and result.
 */
export type Engine = 'native' | 'reference';

export const ENGINES: readonly Engine[] = ['native', 'reference'];

export function parseEngine(value: unknown, argName = 'engine'): Engine {
  if (value === 'native' || value === 'reference') return value;
  throw new Error(`${argName}: expected 'native' or 'reference', got ${JSON.stringify(value)}`);
}
