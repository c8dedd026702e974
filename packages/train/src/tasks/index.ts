// @urgate/train/tasks: the task trainer without tfjs (the reference engine loads it on demand).
export * from './config.js';
export * from './data.js';
export * from './params.js';
export * from './trainer.js';
export * from './training.js';
