// One inference worker: a continuous-batching scheduler over its own onnxruntime sessions.
// Each iteration reads one chunk of waiting prompts through the sequence graph, then advances every
// decoding sequence by one token in a single step-graph call. Sequences join and leave between
// iterations; session.run blocks this thread, not the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import {
  type BatchSampler,
  batchSampler,
  LOGIT_BUDGET,
  openModel,
  prefillRows,
  prefillStates,
  type RowState,
  STATE_OUTPUTS,
  StepBuffers,
  seededUniform,
  stepRows,
  tokenLogprobs,
  type UrgateModel,
  zeroRowState,
} from '@urgate/onnx/runtime';
import type {
  SequenceEvent,
  SequenceSpec,
  WorkerConfig,
  WorkerMessage,
  WorkerRequest,
} from './protocol.js';

const port = parentPort;
if (!port) throw new Error('@urgate/serve worker must run in a worker thread');
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const config = workerData as WorkerConfig;

interface Row {
  spec: SequenceSpec;
  /** null: nothing read yet (the zero state). */
  state: RowState | null;
  /** Prompt tokens read into `state`. */
  read: number;
  generated: number;
  last: number;
  uniform: () => number;
  cancelled: boolean;
  /** Its state was reached by a graph that does not agree with the step graph: never kept. */
  unkept: boolean;
}

/** Tokens of the sequence (prompt, then samples) its state has read. */
function tokensRead(row: Row): number {
  return row.read + Math.max(0, row.generated - 1);
}

/** A copy of a row's state (stepRows overwrites the row's arrays in place). */
function copyState(state: RowState): RowState {
  return { h: state.h.slice(), c: state.c?.slice() ?? null };
}

/**
 * The sequence graph twice: `reading` (opened at start) for prompts read without their
 * log-probabilities, `scoring` (the whole graph, opened by the first prompt that asks for them:
 * it holds a second copy of the weights, which most servers never use).
 */
interface SequenceGraphs {
  /** Opened with only the states as outputs: a prefill without the output layer over every token. */
  reading: UrgateModel;
  scoring(): Promise<ScoringGraph>;
}

interface ScoringGraph {
  model: UrgateModel;
  /** Its states are the step graph's bit for bit (see graphsAgree): only then are they kept. */
  agrees: boolean;
}

/**
 * Whether a session of the sequence graph and the step graph reach the same state bits for the
 * same tokens (an export from before the two used one projection op may not): only then can a
 * state prefilled by one be continued by the other and answer exactly as a cold run does.
 */
async function graphsAgree(step: UrgateModel, sequence: UrgateModel): Promise<boolean> {
  const V = step.metadata.model.vocabSize as number;
  const tokens = Array.from({ length: 24 }, (_, i) => (i * 7919 + 13) % V);
  const stepped = zeroRowState(step);
  for (const t of tokens) await stepRows(step, [t], [stepped]);
  const [state] = sequence.session.outputNames.includes('nll')
    ? (await prefillRows(sequence, [{ state: null, tokens, targets: tokens }])).states
    : await prefillStates(sequence, [{ state: null, tokens }]);
  const same = (a: Float32Array | null, b: Float32Array | null) =>
    a === null || b === null ? a === b : a.every((x, i) => Object.is(x, b[i]));
  return same(stepped.h, state.h) && same(stepped.c, state.c);
}

/** The whole sequence graph, opened (and checked against the step graph) when first asked for. */
function lazyScoring(path: string, step: UrgateModel): () => Promise<ScoringGraph> {
  let opened: Promise<ScoringGraph> | null = null;
  return () => {
    opened ??= open(path).then(async (model) => ({
      model,
      agrees: await graphsAgree(step, model),
    }));
    return opened;
  };
}

/** Prompt tokens this row still reads through the sequence graph (all but the last). */
function toPrefill(row: Row): number {
  if (row.spec.promptPath !== 'sequence') return 0;
  return Math.max(0, row.spec.prompt.length - 1 - row.read);
}

/** A pure scoring row (no tokens to sample) is done once every prompt token after the first is scored. */
function scored(row: Row): boolean {
  return row.spec.maxTokens === 0 && row.read >= row.spec.prompt.length - 1;
}

async function open(path: string, outputs?: readonly string[]): Promise<UrgateModel> {
  return openModel(path, {
    provider: config.provider,
    intraOpThreads: config.intraOpThreads,
    outputs,
  });
}

function scheduler(step: UrgateModel, sequence: SequenceGraphs | null, sampler: BatchSampler) {
  const V = step.metadata.model.vocabSize as number;
  const rows = new Map<number, Row>();
  const buffers = new StepBuffers();
  let running = false;
  /** Prefill calls so far: the oldest prompt and the one with fewest tokens left take turns leading. */
  let calls = 0;

  const fail = (batch: Row[], e: unknown, events: SequenceEvent[]) => {
    for (const row of batch) {
      rows.delete(row.spec.id);
      events.push({
        kind: 'done',
        id: row.spec.id,
        reason: 'error',
        message: (e as Error).message,
      });
    }
  };

  /** The row's state as a `state` event, when its spec keeps states (`copy`: the row goes on). */
  const keep = (row: Row, events: SequenceEvent[], copy: boolean) => {
    const length = tokensRead(row);
    if (!row.spec.keepStates || row.unkept || !row.state || length === 0) return;
    const state = copy ? copyState(row.state) : row.state;
    events.push({ kind: 'state', id: row.spec.id, length, state });
  };

  const leave = (row: Row, events: SequenceEvent[], reason: 'length' | 'cancelled') => {
    rows.delete(row.spec.id);
    keep(row, events, false);
    events.push({ kind: 'done', id: row.spec.id, reason });
  };

  const done = (row: Row, events: SequenceEvent[]) => leave(row, events, 'length');

  /**
   * The prompts of one sequence-graph call: the oldest waiting one and the one with fewest tokens
   * left take turns leading (no starvation, and a short prompt is not stuck behind a long one: low
   * time to first token); then the others, fewest tokens left first, as long as the call's
   * rows × steps stay within `prefillTokens` (its pause of decoding) and, when it scores, its
   * logits within LOGIT_BUDGET. Rows of one call all score or all only read. A sequence's first
   * piece is the remainder, so that every later piece is a full chunk; a call runs T steps and
   * only starting rows (zero state) may be shorter (left-padded), so a row that carries state
   * joins a call of exactly its piece's length (a cache hit's first piece may be short).
   */
  function prefillBatch(waiting: Row[], piece: (r: Row) => number): Row[] {
    const [oldest, ...others] = waiting;
    others.sort((a, b) => toPrefill(a) - toPrefill(b));
    const order =
      others.length > 0 && calls++ % 2 === 1
        ? [others[0], oldest, ...others.slice(1)]
        : [oldest, ...others];
    const scoring = order[0].spec.promptLogprobs;
    const budget = Math.min(
      config.prefillTokens,
      scoring ? Math.floor(LOGIT_BUDGET / V) : Infinity,
    );
    const batch: Row[] = [];
    let fixed: number | null = null; // T, once a row with state is in the call
    let T = 0;
    for (const r of order) {
      if (r.spec.promptLogprobs !== scoring) continue;
      const n = piece(r);
      if (r.state === null ? fixed !== null && n > fixed : fixed === null ? n < T : n !== fixed)
        continue;
      if (batch.length > 0 && (batch.length + 1) * Math.max(T, n) > budget) continue;
      if (r.state !== null) fixed = n;
      T = Math.max(T, n);
      batch.push(r);
    }
    return batch;
  }

  /** One sequence-graph call over waiting prompts (see prefillBatch); returns the tokens read. */
  async function prefill(graphs: SequenceGraphs, events: SequenceEvent[]): Promise<number> {
    const C = config.prefillChunk;
    const waiting = [...rows.values()].filter((r) => toPrefill(r) > 0);
    if (waiting.length === 0) return 0;
    const piece = (r: Row) => toPrefill(r) % C || C;
    const batch = prefillBatch(waiting, piece);
    const pieces = batch.map((r) => {
      const n = piece(r);
      const p = r.spec.prompt;
      return {
        state: r.state,
        tokens: p.slice(r.read, r.read + n),
        targets: p.slice(r.read + 1, r.read + n + 1),
      };
    });
    try {
      let r: { states: RowState[]; nll: Float32Array[] | null };
      if (batch[0].spec.promptLogprobs) {
        const scoring = await graphs.scoring();
        r = await prefillRows(scoring.model, pieces);
        if (!scoring.agrees) for (const row of batch) row.unkept = true;
      } else r = { states: await prefillStates(graphs.reading, pieces), nll: null };
      batch.forEach((row, i) => {
        if (r.nll)
          events.push({
            kind: 'prompt',
            id: row.spec.id,
            from: row.read + 1,
            logprobs: Array.from(r.nll[i], (x: number) => -x),
            top: null,
          });
        row.state = r.states[i];
        row.read += pieces[i].tokens.length;
        if (scored(row)) done(row, events);
        else if (toPrefill(row) === 0) keep(row, events, true); // the prompt but its last token
      });
    } catch (e) {
      fail(batch, e, events);
    }
    return pieces.reduce((s, p) => s + p.tokens.length, 0);
  }

  /**
   * The logits rows sample from: with each sampling row's logit_bias added — in place unless a row
   * reports logprobs, which are the model's own (then on a copy).
   */
  function biased(logits: Float32Array, batch: Row[]): Float32Array {
    if (!batch.some((r) => r.read >= r.spec.prompt.length && r.spec.logitBias.length > 0))
      return logits;
    const out = batch.some((r) => r.spec.logprobs !== null || r.spec.promptLogprobs)
      ? logits.slice()
      : logits;
    batch.forEach((r, b) => {
      if (r.read < r.spec.prompt.length) return;
      for (const [token, bias] of r.spec.logitBias) out[b * V + token] += bias;
    });
    return out;
  }

  /**
   * One step-graph call advancing every sequence done prefilling; returns its batch size. Samples
   * without log-probabilities go into `tokens` as (id, token) pairs, the rest into `events`.
   */
  async function decode(events: SequenceEvent[], tokens: number[]): Promise<number> {
    const batch = [...rows.values()].filter((r) => toPrefill(r) === 0);
    if (batch.length === 0) return 0;
    const inputs = batch.map((r) =>
      r.read < r.spec.prompt.length ? r.spec.prompt[r.read] : r.last,
    );
    for (const r of batch) r.state ??= zeroRowState(step);
    let logits: Float32Array;
    try {
      logits = await stepRows(
        step,
        inputs,
        batch.map((r) => r.state as RowState),
        buffers,
      );
    } catch (e) {
      fail(batch, e, events);
      return batch.length;
    }
    // Rows that read a prompt token other than the last only score the next prompt token.
    for (const row of batch)
      if (row.read < row.spec.prompt.length) {
        row.read++;
        // A prompt read by the step graph: its state before the last token, as the prefill's.
        if (row.read === row.spec.prompt.length - 1) keep(row, events, true);
      }
    const samples = await sampler.sample(
      biased(logits, batch),
      V,
      batch.map((row) =>
        row.read < row.spec.prompt.length ? null : { options: row.spec, uniform: row.uniform },
      ),
    );
    batch.forEach((row, b) => {
      const { spec } = row;
      const rowLogits = logits.subarray(b * V, (b + 1) * V);
      if (samples[b] < 0) {
        if (spec.promptLogprobs) {
          const lp = tokenLogprobs(rowLogits, spec.prompt[row.read], spec.logprobs ?? 0);
          events.push({
            kind: 'prompt',
            id: spec.id,
            from: row.read,
            logprobs: [lp.logprob],
            top: spec.logprobs ? [lp.top] : null,
          });
        }
        if (scored(row)) done(row, events);
        return;
      }
      const token = samples[b];
      if (spec.logprobs === null) tokens.push(spec.id, token);
      else {
        const lp = tokenLogprobs(rowLogits, token, spec.logprobs);
        events.push({ kind: 'token', id: spec.id, token, logprob: lp.logprob, top: lp.top });
      }
      row.last = token;
      if (++row.generated >= spec.maxTokens || spec.stopTokens.includes(token)) done(row, events);
    });
    return batch.length;
  }

  async function iterate(): Promise<void> {
    while (rows.size > 0) {
      // Let add/cancel messages in between calls: new sequences join at the next step.
      await new Promise(setImmediate);
      const events: SequenceEvent[] = [];
      for (const row of rows.values()) if (row.cancelled) leave(row, events, 'cancelled');
      const prefilled = sequence ? await prefill(sequence, events) : 0;
      const tokensAt = events.length;
      const sampled: number[] = [];
      const batch = await decode(events, sampled);
      if (events.length > 0 || batch > 0 || prefilled > 0) {
        const tokens = Int32Array.from(sampled);
        post({ type: 'events', batch, prefilled, events, tokens, tokensAt }, [tokens.buffer]);
      }
    }
  }

  async function loop(): Promise<void> {
    running = true;
    try {
      await iterate();
    } finally {
      running = false;
    }
  }

  return (m: WorkerRequest) => {
    if (m.type === 'cancel') {
      const row = rows.get(m.id);
      if (row) row.cancelled = true;
      return;
    }
    const spec = m.sequence;
    const row: Row = {
      spec,
      state: spec.start?.state ?? null,
      read: spec.start?.length ?? 0,
      generated: 0,
      last: 0,
      uniform: seededUniform(spec.seed),
      cancelled: false,
      unkept: false,
    };
    if (scored(row)) {
      post({
        type: 'events',
        batch: 0,
        prefilled: 0,
        events: [{ kind: 'done', id: spec.id, reason: 'length' }],
        tokens: new Int32Array(0),
        tokensAt: 1,
      });
      return;
    }
    rows.set(spec.id, row);
    if (!running) void loop();
  };
}

try {
  const step = await open(config.stepPath);
  const sequence = config.sequencePath
    ? {
        reading: await open(config.sequencePath, STATE_OUTPUTS),
        scoring: lazyScoring(config.sequencePath, step),
      }
    : null;
  const agree = sequence ? await graphsAgree(step, sequence.reading) : null;
  port.on('message', scheduler(step, sequence, await batchSampler()));
  post({
    type: 'ready',
    step: step.metadata,
    sequence: sequence?.reading.metadata ?? null,
    graphsAgree: agree,
  });
} catch (e) {
  post({ type: 'failed', message: (e as Error).message });
}
