export * from './config.js';
export { initialMemory, initRmcParams } from './init.js';
export {
  type GateBlock,
  gateBlocks,
  type ParamInit,
  type ParamSpec,
  rmcParamLayout,
} from './layout.js';
export { rmcNativeAvailable } from './native.js';
export { LAYER_NORM_EPSILON } from './ops.js';
export { rmcGates, rmcStep, runRmc, runRmcReference } from './step.js';
export * from './types.js';
