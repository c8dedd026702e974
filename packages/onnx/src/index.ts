// Export side: reads checkpoints (through @urgate/contract, without tfjs) and writes ONNX graphs and Triton repositories.
// The serving side lives in `@urgate/onnx/runtime` and loads neither tfjs nor @urgate/cells.

export { type LoadedModel, readCheckpoint } from './checkpoint.js';
export { type ExportOptions, type ExportResult, exportCheckpoint } from './export.js';
export * from './runtime/index.js';
export type { ClassifierSpec, ExportLayer, LanguageModelSpec, ModelSpec, Zoneout } from './spec.js';
export { type TritonOptions, type TritonResult, writeTritonRepository } from './triton.js';
