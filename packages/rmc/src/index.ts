export { initialMemory, initRmcParams } from './init.js';
export { rmcGates, rmcStep, runRmc, runRmcReference } from './step.js';
export * from './types.js';
