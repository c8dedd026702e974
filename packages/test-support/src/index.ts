export * from './closeness.js';
export * from './lm-model.js';
export * from './onnx-checker.js';
