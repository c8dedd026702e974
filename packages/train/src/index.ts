export * from './plot.js';
