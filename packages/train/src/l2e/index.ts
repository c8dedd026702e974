export * from './config.js';
export * from './data.js';
export * from './model.js';
export * from './trainer.js';
