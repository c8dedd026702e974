// Row-wise access to the step and sequence graphs, for a scheduler that batches independent
// sequences: each sequence keeps its own state, and any set of them advances in one call.
import * as ort from 'onnxruntime-node';
import { checkToken, hasCellState, requireGraph, type UrgateModel } from './session.js';

/** The recurrent state of one sequence: `h` (and `c` for LSTM cores), each `[L, d]` row-major. */
export interface RowState {
  h: Float32Array;
  c: Float32Array | null;
}

/** Logits of one sequence-graph call are `[T·B, V]` floats, several times over inside onnxruntime. */
export const LOGIT_BUDGET = 1 << 24;

function dims(model: UrgateModel): { L: number; d: number } {
  return { L: model.metadata.model.numLayers, d: model.metadata.model.hiddenSize };
}

/** Gathers rows' `[L, d]` states into one `[L, B, d]` tensor (a null row is the zero state). */
function gather(
  model: UrgateModel,
  states: readonly (RowState | null)[],
  key: 'h' | 'c',
): ort.Tensor {
  const { L, d } = dims(model);
  const B = states.length;
  const out = new Float32Array(L * B * d);
  states.forEach((s, b) => {
    const row = s?.[key];
    if (!row) return;
    for (let l = 0; l < L; l++) out.set(row.subarray(l * d, (l + 1) * d), (l * B + b) * d);
  });
  return new ort.Tensor('float32', out, [L, B, d]);
}

/** Row b of an `[L, B, d]` output as its own `[L, d]` state, written into `into` when given. */
function scatter(
  model: UrgateModel,
  data: Float32Array,
  B: number,
  b: number,
  into?: Float32Array,
) {
  const { L, d } = dims(model);
  const row = into ?? new Float32Array(L * d);
  for (let l = 0; l < L; l++) row.set(data.subarray((l * B + b) * d, (l * B + b + 1) * d), l * d);
  return row;
}

export function zeroRowState(model: UrgateModel): RowState {
  const { L, d } = dims(model);
  return { h: new Float32Array(L * d), c: hasCellState(model) ? new Float32Array(L * d) : null };
}

/**
 * One step-graph call for a batch of sequences: row b reads `tokens[b]` from `states[b]`, whose
 * arrays are overwritten with the new state. Returns the logits `[B, V]` (row-major).
 */
export async function stepRows(
  model: UrgateModel,
  tokens: ArrayLike<number>,
  states: readonly RowState[],
): Promise<Float32Array> {
  requireGraph(model, 'lm-step', 'stepRows');
  const B = states.length;
  if (tokens.length !== B || B === 0)
    throw new Error(`stepRows: need one token per state row, got ${tokens.length} for ${B}`);
  const ids = new BigInt64Array(B);
  for (let b = 0; b < B; b++) {
    checkToken(model, tokens[b], () => `row ${b}`, 'stepRows');
    ids[b] = BigInt(tokens[b]);
  }
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', ids, [B]),
    h_in: gather(model, states, 'h'),
  };
  if (hasCellState(model)) feeds.c_in = gather(model, states, 'c');
  const r = await model.session.run(feeds);
  const h = r.h_out.data as Float32Array;
  const c = feeds.c_in ? (r.c_out.data as Float32Array) : null;
  states.forEach((s, b) => {
    scatter(model, h, B, b, s.h);
    if (c && s.c) scatter(model, c, B, b, s.c);
  });
  return r.logits.data as Float32Array;
}

/** A piece of one sequence's stream for `prefillRows`: it reads `tokens`, and `targets[i]` is scored after `tokens[i]`. */
export interface PrefillRow {
  /** The state before the piece; null: the sequence starts here (zero state). */
  state: RowState | null;
  tokens: ArrayLike<number>;
  targets: ArrayLike<number>;
}

/**
 * One sequence-graph call that advances several sequences by a piece each: returns each row's state
 * after its piece and the negative log-likelihood (nats) of each of its targets. The call runs
 * T = the longest piece steps; a shorter piece is left-padded and its state zeroed at its first
 * token, which is exact only for a sequence that starts there — so a shorter piece needs
 * `state: null`.
 */
export async function prefillRows(
  model: UrgateModel,
  rows: readonly PrefillRow[],
): Promise<{ states: RowState[]; nll: Float32Array[] }> {
  requireGraph(model, 'lm-sequence', 'prefillRows');
  const B = rows.length;
  if (B === 0) throw new Error('prefillRows: no rows');
  const T = Math.max(...rows.map((r) => r.tokens.length));
  rows.forEach((r, b) => {
    if (r.tokens.length === 0 || r.targets.length !== r.tokens.length)
      throw new Error(
        `prefillRows: row ${b} has ${r.tokens.length} tokens and ${r.targets.length} targets; need as many, at least one`,
      );
    if (r.state && r.tokens.length !== T)
      throw new Error(
        `prefillRows: row ${b} continues a sequence with ${r.tokens.length} tokens where the call runs ${T}; only a starting row (state null) may be shorter`,
      );
  });
  const inputs = new BigInt64Array(T * B);
  const targets = new BigInt64Array(T * B);
  const reset = new Float32Array(T * B);
  rows.forEach((r, b) => {
    const pad = T - r.tokens.length;
    if (pad > 0) reset[pad * B + b] = 1;
    for (let i = 0; i < r.tokens.length; i++) {
      checkToken(model, r.tokens[i], () => `row ${b} token ${i}`, 'prefillRows');
      checkToken(model, r.targets[i], () => `row ${b} target ${i}`, 'prefillRows');
      inputs[(pad + i) * B + b] = BigInt(r.tokens[i]);
      targets[(pad + i) * B + b] = BigInt(r.targets[i]);
    }
  });
  const states = rows.map((r) => r.state);
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', inputs, [T, B]),
    targets: new ort.Tensor('int64', targets, [T, B]),
    reset: new ort.Tensor('float32', reset, [T, B]),
    h_in: gather(model, states, 'h'),
  };
  if (hasCellState(model)) feeds.c_in = gather(model, states, 'c');
  const r = await model.session.run(feeds);
  const nll = r.nll.data as Float32Array;
  const h = r.h_out.data as Float32Array;
  const c = feeds.c_in ? (r.c_out.data as Float32Array) : null;
  return {
    states: rows.map((_, b) => ({
      h: scatter(model, h, B, b),
      c: c ? scatter(model, c, B, b) : null,
    })),
    nll: rows.map((row, b) => {
      const pad = T - row.tokens.length;
      return Float32Array.from({ length: row.tokens.length }, (_, i) => nll[(pad + i) * B + b]);
    }),
  };
}
