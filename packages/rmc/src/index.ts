export {
  DEFAULT_FORGET_BIAS,
  DEFAULT_INPUT_BIAS,
  DEFAULT_RMC_DOWNSIZE,
  GATE_STYLES,
  type GateBlock,
  type GateStyle,
  gateBlocks,
  LAYER_NORM_EPSILON,
  type ParamInit,
  type ParamSpec,
  type ResolvedRmcConfig,
  RMC_MECHANISMS,
  type RmcConfig,
  type RmcMechanism,
  resolveRmcConfig,
  rmcParamLayout,
} from '@urgate/spec';
export { initialMemory, initRmcParams } from './init.js';
export { rmcNativeAvailable } from './native.js';
export { rmcGates, rmcStep, runRmc, runRmcReference } from './step.js';
export * from './types.js';
