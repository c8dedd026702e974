export * from './closeness.js';
export * from './onnx-checker.js';
export * from './rejections.js';
