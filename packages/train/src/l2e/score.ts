// Accuracy counts of target-row logits: the trainer's evaluations on either engine and
// `urgate eval` of an exported encoder-decoder.
import type { L2eBatch } from './data.js';

export interface L2eScore {
  /** Target characters whose argmax is right, of `chars`. */
  correct: number;
  chars: number;
  /** Programs with every target character right, of `programs`. */
  solved: number;
  programs: number;
}

/** Counts from target-row logits [N, V] (row-major), sample by sample (targetOffsets). */
export function scoreLogits(
  logits: Float32Array,
  batch: Pick<L2eBatch, 'targets' | 'targetOffsets' | 'vocabSize'>,
): L2eScore {
  const V = batch.vocabSize;
  const B = batch.targetOffsets.length - 1;
  let correct = 0;
  let solved = 0;
  for (let b = 0; b < B; b++) {
    let all = true;
    for (let r = batch.targetOffsets[b]; r < batch.targetOffsets[b + 1]; r++) {
      let best = 0;
      for (let k = 1; k < V; k++) if (logits[r * V + k] > logits[r * V + best]) best = k;
      if (best === batch.targets[r]) correct++;
      else all = false;
    }
    if (all) solved++;
  }
  return { correct, chars: batch.targets.length, solved, programs: B };
}
