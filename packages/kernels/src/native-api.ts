// @urgate/kernels/native: the native model objects and the parameter arenas without tfjs, for
// processes that must not load it (the LM trainer).
export { adamStepReference } from './adam-reference.js';
export {
  type AdamImplementation,
  type AdamOptions,
  type ArenaKind,
  type ArenaTensor,
  arenaLayout,
  arenaView,
  type ModelArenas,
  ParamArenas,
} from './arena.js';
export { type L2eModelBatch, NativeL2eModel } from './l2e-model.js';
export {
  type LmDropout,
  type LmLayerState,
  type LmWindow,
  lmDownsize,
  NativeLm,
} from './lm-model.js';
export { nativeAvailable, nativeLoadError } from './native.js';
export {
  bernoulliMask,
  NativeTaskModel,
  type TaskMasks,
  type TaskModelBatch,
} from './task-model.js';
export {
  measureSgemmGflops,
  nativeThreads,
  nativeVectorPath,
  setNativeThreads,
} from './threads.js';
