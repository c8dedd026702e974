export { Random, SplitMix64 } from './random.js';
