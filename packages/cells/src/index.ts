// The tfjs reference of the cells. The tfjs-free contract they implement (mechanism table, layout,
// checkpoint names, safetensors) is imported from @urgate/contract, its one path.
import './tfjs-node-notice.js';

export * from './analysis.js';
export {
  cumax,
  type EffectiveGates,
  gate,
  type PreActivations,
  refineGate,
  repeatMasters,
  splitBlocks,
} from './gate.js';
export { initLayerParams } from './init.js';
export { type GatedCellArgs, GatedGRUCell, GatedLSTMCell } from './layers.js';
export {
  runLayerReference,
  runLayerWith,
  type SequenceKernel,
  type SequenceRunner,
} from './sequence.js';
export * from './stack.js';
export { zeroState, zoneoutMasks } from './state.js';
export { layerStep } from './step.js';
export * from './types.js';
export { expectShape } from './validate.js';
