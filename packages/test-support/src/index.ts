export * from './lm-model.js';
