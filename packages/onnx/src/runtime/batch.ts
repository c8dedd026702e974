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

/** A reused buffer of at least `n` values, grown (doubling, same element type) only when too small. */
export function atLeast<
  T extends Float32Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer>,
>(buffer: T, n: number): T {
  if (buffer.length >= n) return buffer;
  const Grown = buffer.constructor as new (length: number) => T;
  return new Grown(Math.max(n, 2 * buffer.length));
}

/**
 * The arrays of one step-graph call, kept from call to call by a caller that steps often (a
 * serving worker): the state inputs, and the outputs onnxruntime writes in place instead of
 * allocating fresh `[B, V]` logits and `[L, B, d]` states each call. What `stepRows` returns is
 * a view of `logits`, valid until the next call with the same buffers.
 */
export class StepBuffers {
  ids = new BigInt64Array(0);
  hIn = new Float32Array(0);
  cIn = new Float32Array(0);
  logits = new Float32Array(0);
  hOut = new Float32Array(0);
  cOut = new Float32Array(0);

  /** Grows the buffers for a batch of B rows (they never shrink). */
  fit(B: number, L: number, d: number, V: number): void {
    if (this.ids.length < B) this.ids = new BigInt64Array(Math.max(B, 2 * this.ids.length));
    this.hIn = atLeast(this.hIn, L * B * d);
    this.cIn = atLeast(this.cIn, L * B * d);
    this.hOut = atLeast(this.hOut, L * B * d);
    this.cOut = atLeast(this.cOut, L * B * d);
    this.logits = atLeast(this.logits, B * V);
  }
}

/**
 * Gathers rows' `[L, d]` states into one `[L, B, d]` tensor (a null row is the zero state), in
 * `into` when given (its first L·B·d values).
 */
function gather(
  model: UrgateModel,
  states: readonly (RowState | null)[],
  key: 'h' | 'c',
  into?: Float32Array,
): ort.Tensor {
  const { L, d } = dims(model);
  const B = states.length;
  const out = into ? into.subarray(0, L * B * d) : new Float32Array(L * B * d);
  states.forEach((s, b) => {
    const row = s?.[key];
    for (let l = 0; l < L; l++)
      if (row) out.set(row.subarray(l * d, (l + 1) * d), (l * B + b) * d);
      else if (into) out.fill(0, (l * B + b) * d, (l * B + b + 1) * d);
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
 * arrays are overwritten with the new state. Returns the logits `[B, V]` (row-major): a fresh
 * array, or with `buffers` a view of `buffers.logits` that the next such call overwrites.
 */
export async function stepRows(
  model: UrgateModel,
  tokens: ArrayLike<number>,
  states: readonly RowState[],
  buffers?: StepBuffers,
): Promise<Float32Array> {
  requireGraph(model, 'lm-step', 'stepRows');
  const B = states.length;
  if (tokens.length !== B || B === 0)
    throw new Error(`stepRows: need one token per state row, got ${tokens.length} for ${B}`);
  const { L, d } = dims(model);
  const V = model.metadata.model.vocabSize as number;
  buffers?.fit(B, L, d, V);
  const ids = buffers ? buffers.ids.subarray(0, B) : new BigInt64Array(B);
  for (let b = 0; b < B; b++) {
    checkToken(model, tokens[b], () => `row ${b}`, 'stepRows');
    ids[b] = BigInt(tokens[b]);
  }
  const cell = hasCellState(model);
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', ids, [B]),
    h_in: gather(model, states, 'h', buffers?.hIn),
  };
  if (cell) feeds.c_in = gather(model, states, 'c', buffers?.cIn);
  let logits: Float32Array;
  let h: Float32Array;
  let c: Float32Array | null;
  if (buffers) {
    logits = buffers.logits.subarray(0, B * V);
    h = buffers.hOut.subarray(0, L * B * d);
    c = cell ? buffers.cOut.subarray(0, L * B * d) : null;
    const fetches: Record<string, ort.Tensor> = {
      logits: new ort.Tensor('float32', logits, [B, V]),
      h_out: new ort.Tensor('float32', h, [L, B, d]),
    };
    if (c) fetches.c_out = new ort.Tensor('float32', c, [L, B, d]);
    await model.session.run(feeds, fetches);
  } else {
    const r = await model.session.run(feeds);
    logits = r.logits.data as Float32Array;
    h = r.h_out.data as Float32Array;
    c = cell ? (r.c_out.data as Float32Array) : null;
  }
  states.forEach((s, b) => {
    scatter(model, h, B, b, s.h);
    if (c && s.c) scatter(model, c, B, b, s.c);
  });
  return logits;
}

/** A piece of one sequence's stream for `prefillRows`: it reads `tokens`, and `targets[i]` is scored after `tokens[i]`. */
export interface PrefillRow {
  /** The state before the piece; null: the sequence starts here (zero state). */
  state: RowState | null;
  tokens: ArrayLike<number>;
  targets: ArrayLike<number>;
}

/** A piece of one sequence's stream for `prefillStates`: it reads `tokens` (nothing is scored). */
export type ReadRow = Omit<PrefillRow, 'targets'>;

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
  rows.forEach((r, b) => {
    if (r.targets.length !== r.tokens.length)
      throw new Error(
        `prefillRows: row ${b} has ${r.tokens.length} tokens and ${r.targets.length} targets; need as many, at least one`,
      );
  });
  const r = await runSequence(model, rows, 'prefillRows');
  return { states: r.states, nll: r.nll as Float32Array[] };
}

/**
 * `prefillRows` for a session of the sequence graph opened with only its states as outputs
 * (`openModel(path, { outputs: STATE_OUTPUTS })`): the same states, bit for bit, without the output
 * layer over every position that scoring needs — most of a prefill's time when V ≫ d.
 */
export async function prefillStates(
  model: UrgateModel,
  rows: readonly ReadRow[],
): Promise<RowState[]> {
  return (await runSequence(model, rows, 'prefillStates')).states;
}

/** The outputs of a sequence graph that reads without scoring (see `prefillStates`). */
export const STATE_OUTPUTS = ['h_out', 'c_out'] as const;

async function runSequence(
  model: UrgateModel,
  rows: readonly (PrefillRow | ReadRow)[],
  caller: string,
): Promise<{ states: RowState[]; nll: Float32Array[] | null }> {
  requireGraph(model, 'lm-sequence', caller);
  const B = rows.length;
  if (B === 0) throw new Error(`${caller}: no rows`);
  const scores = model.session.outputNames.includes('nll');
  if (scores !== (caller === 'prefillRows'))
    throw new Error(
      scores
        ? `${caller}: ${model.path} is opened with its scores (nll); open it with outputs ${STATE_OUTPUTS.join(', ')}`
        : `${caller}: ${model.path} is opened without its scores (nll); use prefillStates`,
    );
  const T = Math.max(...rows.map((r) => r.tokens.length));
  rows.forEach((r, b) => {
    if (r.tokens.length === 0) throw new Error(`${caller}: row ${b} has no tokens`);
    if (r.state && r.tokens.length !== T)
      throw new Error(
        `${caller}: row ${b} continues a sequence with ${r.tokens.length} tokens where the call runs ${T}; only a starting row (state null) may be shorter`,
      );
  });
  const inputs = new BigInt64Array(T * B);
  const targets = scores ? new BigInt64Array(T * B) : null;
  const reset = new Float32Array(T * B);
  rows.forEach((r, b) => {
    const pad = T - r.tokens.length;
    if (pad > 0) reset[pad * B + b] = 1;
    for (let i = 0; i < r.tokens.length; i++) {
      checkToken(model, r.tokens[i], () => `row ${b} token ${i}`, caller);
      inputs[(pad + i) * B + b] = BigInt(r.tokens[i]);
      if (!targets || !('targets' in r)) continue;
      checkToken(model, r.targets[i], () => `row ${b} target ${i}`, caller);
      targets[(pad + i) * B + b] = BigInt(r.targets[i]);
    }
  });
  const states = rows.map((r) => r.state);
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', inputs, [T, B]),
    reset: new ort.Tensor('float32', reset, [T, B]),
    h_in: gather(model, states, 'h'),
  };
  if (targets) feeds.targets = new ort.Tensor('int64', targets, [T, B]);
  if (hasCellState(model)) feeds.c_in = gather(model, states, 'c');
  const r = await model.session.run(feeds);
  const h = r.h_out.data as Float32Array;
  const c = feeds.c_in ? (r.c_out.data as Float32Array) : null;
  const nll = scores ? (r.nll.data as Float32Array) : null;
  return {
    states: rows.map((_, b) => ({
      h: scatter(model, h, B, b),
      c: c ? scatter(model, c, B, b) : null,
    })),
    nll: nll
      ? rows.map((row, b) => {
          const pad = T - row.tokens.length;
          return Float32Array.from({ length: row.tokens.length }, (_, i) => nll[(pad + i) * B + b]);
        })
      : null,
  };
}
