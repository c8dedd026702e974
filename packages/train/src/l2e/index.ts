// @urgate/train/l2e: the l2e trainer without tfjs (the reference engine loads it on demand).
export * from './config.js';
export * from './data.js';
export * from './params.js';
export * from './score.js';
export * from './trainer.js';
export * from './training.js';
