import * as ort from 'onnxruntime-node';
import { LOGIT_BUDGET } from './batch.js';
import {
  checkToken,
  hasCellState,
  requireGraph,
  type UrgateModel,
  zeroStateTensor,
} from './session.js';

export interface ScoreOptions {
  /**
   * Rows scored side by side (default 1). The stream is cut into this many contiguous pieces, each
   * starting from a zero state: B > 1 is faster but gives the first tokens of each piece less context.
   */
  batchSize?: number;
  /** Steps per sequence-graph call; the state carries across calls (default: 64, less for large vocabularies). */
  chunkLength?: number;
  /** `resets[i] = 1` zeroes the state before token i is read (e.g. at document starts). */
  resets?: ArrayLike<number>;
  /** Number of words the stream holds (including one `<eos>` per line), for word-level perplexity. */
  words?: number;
  /** Called after each chunk with the predictions scored so far and the total. */
  onProgress?: (scored: number, total: number) => void;
}

export interface ScoreResult {
  /** Predicted tokens: every token after the first. */
  tokens: number;
  /** Total negative log-likelihood in nats. */
  nll: number;
  tokenPerplexity: number;
  words: number | null;
  /** exp(nll / words). */
  wordPerplexity: number | null;
}

/**
 * Perplexity of a token stream with the sequence graph: token i is predicted from tokens 0..i-1
 * (within its piece, and since the last reset).
 */
export async function scoreTokens(
  model: UrgateModel,
  tokens: ArrayLike<number>,
  opts: ScoreOptions = {},
): Promise<ScoreResult> {
  requireGraph(model, 'lm-sequence', 'scoreTokens');
  const V = model.metadata.model.vocabSize as number;
  const B = opts.batchSize ?? 1;
  if (!Number.isInteger(B) || B < 1)
    throw new Error(`scoreTokens: batchSize must be a positive integer, got ${B}`);
  if (tokens.length < 2)
    throw new Error(`scoreTokens: need at least 2 tokens to predict one, got ${tokens.length}`);
  for (let i = 0; i < tokens.length; i++)
    checkToken(model, tokens[i], () => `position ${i}`, 'scoreTokens');
  if (opts.resets && opts.resets.length !== tokens.length) {
    throw new Error(
      `scoreTokens: resets has ${opts.resets.length} entries, expected one per token (${tokens.length})`,
    );
  }
  if (opts.words !== undefined && !(Number.isInteger(opts.words) && opts.words > 0)) {
    throw new Error(`scoreTokens: words must be a positive integer, got ${opts.words}`);
  }
  const T = opts.chunkLength ?? Math.max(1, Math.min(64, Math.floor(LOGIT_BUDGET / (B * V))));
  if (!Number.isInteger(T) || T < 1)
    throw new Error(`scoreTokens: chunkLength must be a positive integer, got ${T}`);

  const predictions = tokens.length - 1;
  const rowLength = Math.ceil(predictions / B);
  let h = zeroStateTensor(model, B);
  let c = hasCellState(model) ? zeroStateTensor(model, B) : null;
  let nll = 0;
  for (let t0 = 0; t0 < rowLength; t0 += T) {
    const steps = Math.min(T, rowLength - t0);
    const inputs = new BigInt64Array(steps * B);
    const targets = new BigInt64Array(steps * B);
    const reset = new Float32Array(steps * B);
    const valid = new Uint8Array(steps * B);
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < B; b++) {
        const pos = b * rowLength + t0 + t; // predicts token pos + 1 from token pos
        const k = t * B + b;
        if (pos >= predictions) continue; // padding of the last row: token 0, not counted
        inputs[k] = BigInt(tokens[pos]);
        targets[k] = BigInt(tokens[pos + 1]);
        reset[k] = opts.resets?.[pos] ? 1 : 0;
        valid[k] = 1;
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor('int64', inputs, [steps, B]),
      targets: new ort.Tensor('int64', targets, [steps, B]),
      reset: new ort.Tensor('float32', reset, [steps, B]),
      h_in: h,
    };
    if (c) feeds.c_in = c;
    const r = await model.session.run(feeds);
    const chunkNll = r.nll.data as Float32Array;
    for (let k = 0; k < chunkNll.length; k++) if (valid[k]) nll += chunkNll[k];
    h = r.h_out;
    if (c) c = r.c_out;
    opts.onProgress?.(Math.min(predictions, B * (t0 + steps)), predictions);
  }
  const words = opts.words ?? null;
  return {
    tokens: predictions,
    nll,
    tokenPerplexity: Math.exp(nll / predictions),
    words,
    wordPerplexity: words === null ? null : Math.exp(nll / words),
  };
}
