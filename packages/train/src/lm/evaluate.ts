import {
  evalBatches,
  NllAccumulator,
  type PerplexityReport,
  type PreparedSplit,
  perplexityReport,
} from '@urgate/wikitext';
import type { LanguageModel, LmState } from './model.js';

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
 * Rows scored at once by default. Scoring one row is a matrix-vector product per step, bound by
 * memory bandwidth (0.54x training speed at H=1024); 32 rows make it a matrix product again.
 */
export const EVAL_ROWS = 32;

/**
 * Per-token NLL over a whole split read as one stream (the convention for reported
 * perplexities): the split preceded by one `<eos>`, state carried across windows and zeroed at
 * article starts, no dropout. Because of those resets the stream's articles are independent, so
 * they are scored `rows` at a time (evalBatches) with the one stream's per-token results; rows 1
 * reads it literally. Word-level perplexity divides the total by the split's words (incl. one
 * `<eos>` per line), so word and subword models compare.
 */
export async function evaluateLm(
  model: LanguageModel,
  split: PreparedSplit,
  options: { eosId: number; bptt?: number; rows?: number },
): Promise<TimedLmEvaluation> {
  const nll = new NllAccumulator();
  const batches = evalBatches(split.ids, split.articleStarts, {
    bptt: options.bptt ?? 256,
    eosId: options.eosId,
    batchSize: options.rows ?? EVAL_ROWS,
  });
  let state: LmState | undefined;
  let tokens = 0;
  const started = performance.now();
  for (const batch of batches) {
    state ??= model.zeroState(batch.batch);
    const out = model.score(batch, state);
    state = out.state;
    nll.add(out.nll, batch.mask);
    for (const m of batch.mask) tokens += m;
  }
  const counts = split.manifest.counts;
  const tokensPerSecond = tokens / ((performance.now() - started) / 1000);
  return {
    report: { ...perplexityReport(nll.total, counts), tokens, words: counts.words },
    tokensPerSecond,
  };
}
