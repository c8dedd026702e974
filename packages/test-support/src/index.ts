export * from './lm-model.js';
export * from './onnx-checker.js';
