// @urgate/kernels: the native kernels. The tfjs bindings (fused layer, task-head ops, RMC,
// softmax cross-entropy, FusedAdam over tf.Variables) are here; the native model objects and
// parameter arenas, which need no tfjs, are also at @urgate/kernels/native.
export { FusedAdam, type FusedAdamOptions } from './fused-adam.js';
export { runLayerFused } from './fused-layer.js';
export { denseFused, nativeDropoutMask, nativeZoneoutMask, sliceSteps } from './model-ops.js';
export {
  type NativeAdaptiveParams,
  type NativeAdaptiveSettings,
  type NativeAdaptiveShape,
  requireNative,
} from './native.js';
export * from './native-api.js';
export {
  type RmcFusedResult,
  type RmcKernelBlockWeights,
  type RmcKernelWeights,
  runRmcFused,
} from './rmc-fused.js';
export { type RmcKernelShape, rmcKernelShape } from './rmc-native.js';
export { sequenceKernel } from './sequence-kernel.js';
export { softmaxCrossEntropy } from './softmax-xent.js';
export { releaseTapes } from './tapes.js';
