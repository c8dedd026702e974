export { Random, SplitMix64 } from './random.js';
export { Mulberry32, SeededRandom } from './seeded.js';
