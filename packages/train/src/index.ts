export * from './divergence.js';
export * from './metrics.js';
export * from './plot.js';
export * from './progress.js';
export * from './seeds.js';
export * from './training-state.js';
