import {
  evalBatches,
  NllAccumulator,
  type PerplexityReport,
  type PreparedSplit,
  perplexityReport,
} from '@urgate/wikitext';
import { releaseNativeMemory } from '../native-memory.js';
import { disposeState, type LmModel, lmScore, zeroLmState } from './model.js';

export interface LmEvaluation extends PerplexityReport {
  /** Tokens scored (= the split's token count: every token is a target once). */
  tokens: number;
  words: number;
}

/** An evaluation and how fast it ran (a timing: kept out of the report, which is reproducible). */
export interface TimedLmEvaluation {
  report: LmEvaluation;
  /** Scoring speed: tokens scored per second of this evaluation. */
  tokensPerSecond: number;
}

/**
 * Per-token NLL over a whole split read as one stream (the convention for reported
 * perplexities): the split preceded by one `<eos>`, state carried across windows and zeroed at
 * article starts, no dropout. Word-level perplexity divides the total by the split's words
 * (incl. one `<eos>` per line), so word and subword models compare.
 */
export async function evaluateLm(
  model: LmModel,
  split: PreparedSplit,
  options: { eosId: number; bptt?: number },
): Promise<TimedLmEvaluation> {
  const nll = new NllAccumulator();
  let state = zeroLmState(model, 1);
  let tokens = 0;
  const started = performance.now();
  for (const batch of evalBatches(split.ids, split.articleStarts, {
    bptt: options.bptt ?? 256,
    eosId: options.eosId,
  })) {
    const out = lmScore(model, batch, state);
    disposeState(state);
    state = out.state;
    // Reference forward passes leave their layer kernels' tapes to a finalizer: free them.
    if (batch.index % 16 === 15) await releaseNativeMemory();
    nll.add(out.nll, batch.mask);
    for (const m of batch.mask) tokens += m;
  }
  disposeState(state);
  const counts = split.manifest.counts;
  const tokensPerSecond = tokens / ((performance.now() - started) / 1000);
  return {
    report: { ...perplexityReport(nll.total, counts), tokens, words: counts.words },
    tokensPerSecond,
  };
}
