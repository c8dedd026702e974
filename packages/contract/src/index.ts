// The model contract of urgate without tfjs: what the reference cells, the native kernels, the
// ONNX exporter and the trainers must agree on (LAYOUT.md in @urgate/cells).
export * from './config.js';
export * from './init.js';
export * from './l2e.js';
export * from './layout.js';
export * from './lm.js';
export * from './mechanisms.js';
export * from './names.js';
export * from './rmc.js';
export * from './rmc-init.js';
export * from './safetensors.js';
export * from './task.js';
