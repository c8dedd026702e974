import * as ort from 'onnxruntime-node';
import { LOGIT_BUDGET } from './batch.js';
import {
  checkToken,
  hasCellState,
  requireGraph,
  type UrgateModel,
  zeroStateTensor,
} from './session.js';

/**
 * One window of B rows scored by the sequence graph, time-major: element [t, b] is at t * B + b.
 * `resets[k] = 1` zeroes that row's state before inputs[k] is read.
 */
export interface ScoreWindow {
  steps: number;
  batch: number;
  inputs: ArrayLike<number>;
  targets: ArrayLike<number>;
  resets?: ArrayLike<number>;
}

/** The sequence graph's recurrent state between windows: h (and c for an LSTM), [L, B, d]. */
export interface ScoreState {
  h: ort.Tensor;
  c: ort.Tensor | null;
}

export function zeroScoreState(model: UrgateModel, batch: number): ScoreState {
  requireGraph(model, 'lm-sequence', 'zeroScoreState');
  return {
    h: zeroStateTensor(model, batch),
    c: hasCellState(model) ? zeroStateTensor(model, batch) : null,
  };
}

/**
 * Steps per sequence-graph call for B rows: at most 64, fewer where the [T·B, V] logits would
 * exceed the budget (a large vocabulary).
 */
export function scoreChunkLength(model: UrgateModel, batch: number): number {
  const V = model.metadata.model.vocabSize as number;
  return Math.max(1, Math.min(64, Math.floor(LOGIT_BUDGET / (batch * V))));
}

/**
 * Per-element NLL (nats) of one window and the state after it. Every input and target is checked
 * against the vocabulary, naming its window position.
 */
export async function scoreWindow(
  model: UrgateModel,
  window: ScoreWindow,
  state: ScoreState,
): Promise<{ nll: Float32Array; state: ScoreState }> {
  requireGraph(model, 'lm-sequence', 'scoreWindow');
  const n = window.steps * window.batch;
  for (const [name, values] of [
    ['inputs', window.inputs],
    ['targets', window.targets],
  ] as const) {
    if (values.length !== n)
      throw new Error(
        `scoreWindow: ${name} has ${values.length} entries, expected steps x batch = ${n}`,
      );
    for (let k = 0; k < n; k++)
      checkToken(model, values[k], () => `${name} position ${k}`, 'scoreWindow');
  }
  return runWindow(model, window, state);
}

/** One sequence-graph call on a window whose shapes and tokens the caller has checked. */
async function runWindow(
  model: UrgateModel,
  window: ScoreWindow,
  state: ScoreState,
): Promise<{ nll: Float32Array; state: ScoreState }> {
  const n = window.steps * window.batch;
  const reset = new Float32Array(n);
  if (window.resets) for (let k = 0; k < n; k++) reset[k] = window.resets[k] ? 1 : 0;
  const shape = [window.steps, window.batch];
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', BigInt64Array.from(window.inputs, BigInt), shape),
    targets: new ort.Tensor('int64', BigInt64Array.from(window.targets, BigInt), shape),
    reset: new ort.Tensor('float32', reset, shape),
    h_in: state.h,
  };
  if (state.c) feeds.c_in = state.c;
  const r = await model.session.run(feeds);
  return {
    nll: r.nll.data as Float32Array,
    state: { h: r.h_out, c: state.c ? r.c_out : null },
  };
}

export interface ScoreOptions {
  /** Steps per sequence-graph call; the state carries across calls (default: scoreChunkLength). */
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
 * Perplexity of one token stream with the sequence graph: token i is predicted from tokens
 * 0..i-1 since the last reset. (To score many streams side by side, call scoreWindow with B
 * rows: `urgate eval` scores a split's articles that way.)
 */
export async function scoreTokens(
  model: UrgateModel,
  tokens: ArrayLike<number>,
  opts: ScoreOptions = {},
): Promise<ScoreResult> {
  requireGraph(model, 'lm-sequence', 'scoreTokens');
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
  const T = opts.chunkLength ?? scoreChunkLength(model, 1);
  if (!Number.isInteger(T) || T < 1)
    throw new Error(`scoreTokens: chunkLength must be a positive integer, got ${T}`);

  const predictions = tokens.length - 1;
  const all = Array.from(tokens); // checked above, position by position
  let state = zeroScoreState(model, 1);
  let nll = 0;
  for (let t0 = 0; t0 < predictions; t0 += T) {
    const steps = Math.min(T, predictions - t0);
    const resets = opts.resets
      ? Array.from({ length: steps }, (_, t) => opts.resets?.[t0 + t] ?? 0)
      : undefined;
    const out = await runWindow(
      model,
      {
        steps,
        batch: 1,
        inputs: all.slice(t0, t0 + steps),
        targets: all.slice(t0 + 1, t0 + steps + 1),
        resets,
      },
      state,
    );
    for (const x of out.nll) nll += x;
    state = out.state;
    opts.onProgress?.(t0 + steps, predictions);
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
