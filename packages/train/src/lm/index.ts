export * from '../engine.js';
export * from './config.js';
export * from './data.js';
export * from './evaluate.js';
export * from './load.js';
export * from './model.js';
export * from './trainer.js';
