// The LM's adaptive softmax on the training side, without tfjs: its initial values (into the
// parameter arena laid out by @urgate/contract's lmTensorShapes) and the check that the vocabulary
// is frequency-sorted. Its tfjs reference is in reference.ts (adaptiveLogProbs).

import { ADAPTIVE_SOFTMAX_TENSORS, type LmArchitecture, lmTensorShapes } from '@urgate/contract';
import { arenaView, type ModelArenas } from '@urgate/kernels/native';
import { SeededRandom } from '@urgate/random';
import { deriveSeed } from '../seeds.js';

const ADAPTIVE_PREFIX = 'adaptive.';
/** Seed purposes of the adaptive tensors (model.ts' LM_SEED_PURPOSE uses 1..3). */
const SEED_PURPOSE = 100;

/**
 * The adaptive softmax's initial values, in lmTensorShapes order: weights U(±1/√fan_in) like
 * PyTorch's Linear layers, the head bias zero (the arena starts at zero).
 */
export function initAdaptiveParams(
  model: ModelArenas & { arch: LmArchitecture },
  seed: number,
): void {
  lmTensorShapes(model.arch)
    .filter((t) => t.name.startsWith(ADAPTIVE_PREFIX))
    .forEach(({ name, shape }, k) => {
      if (name === ADAPTIVE_SOFTMAX_TENSORS.headB) return;
      const rng = new SeededRandom(deriveSeed(seed, SEED_PURPOSE + k));
      const limit = 1 / Math.sqrt(shape[0]);
      const view = arenaView(model, name);
      for (let i = 0; i < view.length; i++) view[i] = rng.uniform(-limit, limit);
    });
}

/**
 * Refuses a vocabulary that is not sorted by decreasing frequency on the training split (the
 * adaptive softmax's clusters are frequency bands), apart from the tokenizer's `<unk>` and
 * `<eos>`, which a word vocabulary places first: one line naming the first pair out of order.
 */
export function checkFrequencySorted(
  ids: Int32Array,
  vocabSize: number,
  special: number[],
  source: string,
): void {
  const counts = new Float64Array(vocabSize);
  for (const id of ids) counts[id]++;
  let prev = -1;
  for (let id = 0; id < vocabSize; id++) {
    if (special.includes(id)) continue;
    if (prev >= 0 && counts[id] > counts[prev])
      throw new Error(
        `${source}: the adaptive softmax needs a vocabulary sorted by decreasing frequency, but on the train split id ${id} occurs ${counts[id]} times and id ${prev} before it ${counts[prev]} times: prepare a word vocabulary with \`urgate lm prepare\` (which sorts it) or train with a full softmax`,
      );
    prev = id;
  }
}
